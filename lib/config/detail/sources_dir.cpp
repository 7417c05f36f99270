#include "config/detail/sources_dir.hpp"

#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

#include "config/detail/messages.hpp"
#include "config/detail/text_file.hpp"
#include "config/detail/yaml_tree.hpp"

namespace chatsync::config::detail {

namespace fs = std::filesystem;

namespace {

constexpr const char* kKey = "sources_dir";

/// Whether `entry` is a source file: an editor's backup (`x.yaml~`), a hidden file (a swap
/// file, or the `..data` links of a Kubernetes ConfigMap volume) and anything but a regular
/// file, or a link to one, are left alone. A link that leads nowhere is taken, so that reading
/// it reports the broken link instead of its sources silently disappearing.
bool IsSourceFile(const fs::directory_entry& entry) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with('.')) {
        return false;
    }
    const std::string ext = entry.path().extension().string();
    if (ext != ".yaml" && ext != ".yml") {
        return false;
    }
    std::error_code ec;
    if (entry.is_regular_file(ec)) {
        return true;
    }
    std::error_code link_ec;
    return entry.is_symlink(link_ec) && !fs::exists(entry.path(), link_ec);
}

/// The source files of `dir`, sorted by name; or the reason the directory cannot be listed.
std::variant<std::vector<fs::path>, std::string> ListSourceFiles(const fs::path& dir) {
    std::error_code ec;
    const fs::file_status status = fs::status(dir, ec);
    if (status.type() == fs::file_type::not_found) {
        return std::string("no such directory");
    }
    if (ec) {
        return ec.message();
    }
    if (!fs::is_directory(status)) {
        return std::string("not a directory");
    }
    std::vector<fs::path> files;
    fs::directory_iterator it(dir, ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
        if (IsSourceFile(*it)) {
            files.push_back(it->path());
        }
    }
    if (ec) {
        return ec.message();
    }
    std::sort(files.begin(), files.end());
    return files;
}

/// Marks `node` and everything under it as written in `file`.
void MarkFile(YamlNode& node, const std::string& file) {
    node.mark.file = file;
    for (auto& e : node.entries) {
        MarkFile(e.key, file);
        MarkFile(e.value, file);
    }
    for (auto& item : node.items) {
        MarkFile(item, file);
    }
}

/// Reads one source file: its source, or each source of its list.
void ReadSourceFile(
    Context& dir_ctx,
    const fs::path& file,
    std::vector<ConfigError>& errors,
    Config& config,
    SourceNames& names,
    ConnectorResolver& resolver,
    const YamlNode* source_template
) {
    const std::string name = file.string();
    const auto text = ReadTextFile(file);
    if (!text) {
        errors.emplace_back(name, 0, 0, "", "cannot read source file: " + text.error().message());
        return;
    }
    if (auto bad = NotText(*text, name)) {
        errors.push_back(std::move(*bad));
        return;
    }
    auto parsed = ParseYaml(*text, name);
    if (auto* e = std::get_if<ConfigError>(&parsed)) {
        errors.push_back(std::move(*e));
        return;
    }
    const YamlNode& root = std::get<YamlNode>(parsed);
    Context ctx(name, errors, dir_ctx.env(), file.parent_path());
    const auto read = [&](const YamlNode& source, const std::string& path) {
        if (source_template == nullptr) {
            ReadSource(ctx, source, path, config, names, resolver);
        } else {
            ReadSource(
                ctx, ApplySourceTemplate(*source_template, source), path, config, names, resolver
            );
        }
    };
    switch (root.kind) {
        case YamlNode::Kind::kMapping:
            read(root, "");
            break;
        case YamlNode::Kind::kSequence:
            for (std::size_t i = 0; i < root.items.size(); ++i) {
                read(root.items[i], IndexPath("", i));
            }
            break;
        case YamlNode::Kind::kNull:
            // An empty file is more likely a mistake (a truncated copy, a save gone wrong)
            // than a way to say "no source": a source is switched off with `enabled: false`.
            ctx.Error(
                root.mark,
                "",
                "the source file is empty: it needs a source (a mapping with name and "
                "connector) or a list of them"
            );
            break;
        case YamlNode::Kind::kScalar:
            ctx.Error(
                root.mark,
                "",
                "expected a source (a mapping with name and connector) or a list of them, got " +
                    std::string(KindName(root))
            );
            break;
    }
}

}  // namespace

std::optional<YamlNode> ReadSourceTemplate(Context& ctx, const YamlNode& node) {
    constexpr const char* kTemplateKey = "source_template";
    if (!node.IsMapping()) {
        ctx.Error(
            node.mark,
            kTemplateKey,
            "expected a mapping of source keys, got " + std::string(KindName(node))
        );
        return std::nullopt;
    }
    for (const auto& e : node.entries) {
        if (e.key.IsScalar() && e.key.scalar == "name") {
            ctx.Error(
                e.key.mark,
                JoinPath(kTemplateKey, "name"),
                "each source names itself: name is not a template key"
            );
            return std::nullopt;
        }
    }
    YamlNode marked = node;
    MarkFile(marked, ctx.file());
    return marked;
}

YamlNode ApplySourceTemplate(const YamlNode& source_template, const YamlNode& source) {
    if (!source.IsMapping() || !source_template.IsMapping()) {
        return source;
    }
    YamlNode merged = source_template;
    // Positions and tag are the source's: a missing key is reported at the source.
    merged.mark = source.mark;
    merged.tag = source.tag;
    const std::size_t from_template = merged.entries.size();
    // A template entry is overridden once; a key the source repeats is appended again, so
    // that the source's duplicate is still reported as one.
    std::vector<bool> overridden(from_template, false);
    for (const auto& e : source.entries) {
        std::size_t i = 0;
        while (i < from_template &&
               (overridden[i] || !e.key.IsScalar() || !merged.entries[i].key.IsScalar() ||
                merged.entries[i].key.scalar != e.key.scalar)) {
            ++i;
        }
        if (i == from_template) {
            merged.entries.push_back(e);
            continue;
        }
        overridden[i] = true;
        MapEntry& target = merged.entries[i];
        target.value = target.value.IsMapping() && e.value.IsMapping()
                           ? ApplySourceTemplate(target.value, e.value)
                           : e.value;
        target.key = e.key;
    }
    return merged;
}

void ReadSourcesDir(
    Context& ctx,
    const YamlNode& node,
    std::vector<ConfigError>& errors,
    Config& config,
    SourceNames& names,
    ConnectorResolver& resolver,
    const YamlNode* source_template
) {
    const auto given = ReadString(ctx, node, kKey);
    if (!given) {
        return;
    }
    if (given->empty()) {
        ctx.Error(node.mark, kKey, "must not be empty");
        return;
    }
    const fs::path dir = ctx.Resolve(*given);
    auto listed = ListSourceFiles(dir);
    if (const auto* why = std::get_if<std::string>(&listed)) {
        ctx.Error(node.mark, kKey, "cannot read directory '" + dir.string() + "': " + *why);
        return;
    }
    for (const auto& file : std::get<std::vector<fs::path>>(listed)) {
        ReadSourceFile(ctx, file, errors, config, names, resolver, source_template);
    }
}

}  // namespace chatsync::config::detail
