#include "config/detail/map_reader.hpp"
#include "config/detail/spec_sections.hpp"

namespace chatsync::config::detail {

namespace cn = chatsync::connectors;

namespace {

constexpr NameTable<cn::PartitionSpec::Case, 3> kPartitionCases{{
    {"sensitive", cn::PartitionSpec::Case::kSensitive},
    {"insensitive", cn::PartitionSpec::Case::kInsensitive},
    {"probe", cn::PartitionSpec::Case::kProbe},
}};

}  // namespace

cn::PartitionSpec ReadPartition(Context& ctx, const YamlNode& node, const std::string& path) {
    cn::PartitionSpec out;
    MapReader m(ctx, node, path);
    if (const YamlNode* f = m.Required("field")) {
        out.field = ReadString(ctx, *f, m.PathOf("field")).value_or("");
    }
    if (const YamlNode* a = m.Required("alphabet")) {
        out.alphabet = ReadString(ctx, *a, m.PathOf("alphabet")).value_or("");
        if (out.alphabet.empty()) {
            ctx.Error(a->mark, m.PathOf("alphabet"), "needs at least one character");
        }
    }
    if (const auto v = m.Integer("split_at", 1, 1'000'000)) {
        out.split_at = *v;
    }
    if (auto v = m.String("wildcard")) {
        out.wildcard = std::move(*v);
    }
    if (auto v = m.String("any_char")) {
        out.any_char = std::move(*v);
    }
    if (auto v = m.String("metacharacters")) {
        out.metacharacters = std::move(*v);
    }
    if (auto v = m.String("never_literal")) {
        out.never_literal = std::move(*v);
    }
    if (auto v = m.String("escape")) {
        out.escape = std::move(*v);
    }
    if (const auto v = ReadEnum(m, "case", kPartitionCases)) {
        out.case_mode = *v;
    }
    if (const auto v = m.Bool("unique")) {
        out.unique = *v;
    }
    if (const auto v = m.Bool("exclusion_probes")) {
        out.exclusion_probes = *v;
    }
    if (const auto v = m.Integer("max_prefix", 1, 4096)) {
        out.max_prefix = static_cast<std::size_t>(*v);
    }
    m.Finish();
    return out;
}

}  // namespace chatsync::config::detail
