#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "config/config.hpp"
#include "config/detail/connector_resolver.hpp"
#include "config/detail/database_section.hpp"
#include "config/detail/interpolate.hpp"
#include "config/detail/listeners.hpp"
#include "config/detail/map_reader.hpp"
#include "config/detail/source.hpp"
#include "config/detail/sources_dir.hpp"
#include "config/detail/text_file.hpp"
#include "config/detail/yaml_tree.hpp"
#include "connectors/builtin.hpp"

namespace chatsync::config {

namespace {

namespace cn = chatsync::connectors;
namespace fs = std::filesystem;
using detail::Context;
using detail::MapReader;
using detail::YamlNode;

constexpr std::int64_t kMaxUint32 = std::numeric_limits<std::uint32_t>::max();

const std::vector<std::string> kLogLevels{"trace", "debug", "info", "warn", "error"};
const std::vector<std::string> kLogFormats{"text", "json"};

void ReadLog(Context& ctx, const YamlNode& node, LogConfig& log) {
    MapReader m(ctx, node, "log");
    if (const auto i = m.Choice("level", kLogLevels)) {
        log.level = kLogLevels[*i];
    }
    if (const auto i = m.Choice("format", kLogFormats)) {
        log.format = kLogFormats[*i];
    }
    m.Finish();
}

void ReadLimits(Context& ctx, const YamlNode& node, LimitsConfig& limits) {
    MapReader m(ctx, node, "limits");
    if (const auto v = m.Integer("max_concurrent_runs", 1, kMaxUint32)) {
        limits.max_concurrent_runs = static_cast<std::uint32_t>(*v);
    }
    if (const auto v = m.Duration("shutdown_grace")) {
        limits.shutdown_grace = *v;
    }
    if (const auto v = m.PositiveByteSize("max_response_bytes")) {
        limits.max_response_bytes = *v;
    }
    if (const auto v = m.Integer("max_batch_rows", 1, kMaxUint32)) {
        limits.max_batch_rows = static_cast<std::uint32_t>(*v);
    }
    if (const auto v = m.ByteSize("max_in_flight_bytes")) {
        limits.max_in_flight_bytes = *v;
    }
    m.Finish();
}

void ReadReplica(Context& ctx, const YamlNode& node, ReplicaConfig& replica) {
    MapReader m(ctx, node, "replica");
    if (const auto v = m.Bool("enabled")) {
        replica.enabled = *v;
    }
    if (auto v = m.String("name")) {
        replica.name = std::move(*v);
    }
    if (const auto v = m.Duration("heartbeat", true)) {
        replica.heartbeat = *v;
    }
    m.Finish();
}

/// Reads one config text: checks it is text, parses it, reads every block, and throws
/// ConfigErrors with every error found (from the config and the spec files it names).
class Loader {
public:
    explicit Loader(detail::EnvLookup env)
        : env_(std::move(env)) {}

    Config Load(const std::string& text, const std::string& file, const fs::path& base_dir) {
        Config config;
        config.path = file;
        // Checked before the YAML parser sees it: its messages quote what they stumble on,
        // and a binary file's bytes have no place on a terminal or in the journal.
        if (auto bad = detail::NotText(text, file)) {
            errors_.push_back(std::move(*bad));
            Throw();
        }
        auto parsed = detail::ParseYaml(text, file);
        if (auto* e = std::get_if<ConfigError>(&parsed)) {
            errors_.push_back(std::move(*e));
            Throw();
        }
        const YamlNode& root = std::get<YamlNode>(parsed);
        if (root.IsNull()) {
            // Every key has a default, so an empty file would otherwise "load": a daemon
            // with nothing to sync that starts an embedded cluster for it.
            errors_.emplace_back(
                file,
                0,
                0,
                "",
                "the config file is empty (nothing but comments or white space): it needs at "
                "least a sources list (chatsync.example.yaml documents every key)"
            );
            Throw();
        }
        Context ctx(file, errors_, &env_, base_dir);
        ReadRoot(ctx, root, config);
        if (!errors_.empty()) {
            Throw();
        }
        return config;
    }

    [[noreturn]] void Throw() {
        detail::SortByPosition(errors_);
        // An error in source_template is found again in every source it is copied into:
        // the same place and words are reported once.
        std::set<std::string> seen;
        std::erase_if(errors_, [&seen](const ConfigError& e) {
            return !seen.insert(e.what()).second;
        });
        throw ConfigErrors(std::move(errors_));
    }

private:
    void ReadRoot(Context& ctx, const YamlNode& root, Config& config) {
        MapReader m(ctx, root, "");
        if (const YamlNode* d = m.Get("data_dir")) {
            if (auto v = detail::ReadString(ctx, *d, "data_dir")) {
                if (v->empty()) {
                    ctx.Error(d->mark, "data_dir", "must not be empty");
                } else {
                    config.data_dir = ctx.Resolve(*v);
                }
            }
        }
        if (const YamlNode* d = m.Get("database")) {
            ReadDatabase(ctx, *d, "database", config.database);
        }
        if (const YamlNode* a = m.Get("admin")) {
            detail::ReadAdmin(ctx, *a, config.admin);
        }
        if (const YamlNode* w = m.Get("webhooks")) {
            detail::ReadWebhooks(ctx, *w, config.webhooks);
        }
        if (const YamlNode* l = m.Get("log")) {
            ReadLog(ctx, *l, config.log);
        }
        if (const YamlNode* l = m.Get("limits")) {
            ReadLimits(ctx, *l, config.limits);
        }
        if (const YamlNode* r = m.Get("replica")) {
            ReadReplica(ctx, *r, config.replica);
        }
        detail::SourceNames names;
        if (const YamlNode* s = m.Get("sources")) {
            if (const auto* items = detail::ReadList(ctx, *s, "sources")) {
                for (std::size_t i = 0; i < items->size(); ++i) {
                    detail::ReadSource(
                        ctx, (*items)[i], detail::IndexPath("sources", i), config, names, resolver_
                    );
                }
            }
        }
        // After the list, so that the config file's own sources come first and a duplicate
        // is reported in the directory's file.
        std::optional<YamlNode> source_template;
        if (const YamlNode* t = m.Get("source_template")) {
            source_template = detail::ReadSourceTemplate(ctx, *t);
            if (!m.Has("sources_dir")) {
                ctx.Error(
                    m.KeyNode("source_template")->mark,
                    "source_template",
                    "applies to the files of sources_dir, which is not set"
                );
            }
        }
        if (const YamlNode* d = m.Get("sources_dir")) {
            detail::ReadSourcesDir(
                ctx,
                *d,
                errors_,
                config,
                names,
                resolver_,
                source_template ? &*source_template : nullptr
            );
        }
        m.Finish();
    }

    detail::EnvLookup env_;
    std::vector<ConfigError> errors_;
    /// Holds references to env_ and errors_, declared before it.
    detail::ConnectorResolver resolver_{errors_, env_};
};

}  // namespace

Config LoadFile(const std::filesystem::path& path) {
    const auto text = detail::ReadTextFile(path);
    if (!text) {
        throw ConfigErrors({ConfigError(
            path.string(), 0, 0, "", "cannot read config file: " + text.error().message()
        )});
    }
    return Loader(detail::ProcessEnvironment()).Load(*text, path.string(), path.parent_path());
}

Config LoadString(const std::string& yaml, const std::string& name) {
    return Loader(detail::ProcessEnvironment()).Load(yaml, name, fs::path(name).parent_path());
}

std::vector<std::string> BuiltinConnectorNames() {
    std::vector<std::string> names;
    for (const auto n : cn::BuiltinSpecNames()) {
        names.emplace_back(n);
    }
    std::sort(names.begin(), names.end());
    return names;
}

}  // namespace chatsync::config