#include "config/detail/connector_resolver.hpp"

#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <utility>
#include <variant>

#include "config/detail/spec_parser.hpp"
#include "config/detail/text_file.hpp"
#include "connectors/builtin.hpp"

namespace chatsync::config::detail {

namespace cn = chatsync::connectors;
namespace fs = std::filesystem;

namespace {

/// Built-in specs are compiled in, so each parses to the same spec in every load: a clean
/// parse is kept for the process (a reload, or every check of a fuzzer, parses only the
/// user's own text again).
class BuiltinSpecs {
public:
    static std::optional<ResolvedSpec> Find(const std::string& name) {
        const std::lock_guard lock(Mutex());
        const auto& parsed = Parsed();
        const auto it = parsed.find(name);
        return it == parsed.end() ? std::nullopt : std::optional<ResolvedSpec>(it->second);
    }

    static void Keep(const std::string& name, const ResolvedSpec& spec) {
        const std::lock_guard lock(Mutex());
        Parsed().emplace(name, spec);
    }

private:
    static std::mutex& Mutex() {
        static std::mutex mutex;
        return mutex;
    }

    static std::map<std::string, ResolvedSpec>& Parsed() {
        static std::map<std::string, ResolvedSpec> parsed;
        return parsed;
    }
};

std::string UnknownConnectorMessage(const std::string& name) {
    std::vector<std::string> names = BuiltinConnectorNames();
    std::string msg = "unknown connector '" + name + "'";
    if (name.find('/') != std::string::npos || name.ends_with(".yaml") || name.ends_with(".yml")) {
        return msg + " (to load a spec file, use connector_file)";
    }
    if (names.empty()) {
        return msg +
               " (no built-in connectors are available; give an inline spec or connector_file)";
    }
    const std::string close = ClosestMatch(name, names);
    if (!close.empty()) {
        return msg + " (did you mean '" + close + "'? available: " + JoinNames(names) + ")";
    }
    return msg + " (available: " + JoinNames(names) + ")";
}

}  // namespace

ConnectorResolver::ConnectorResolver(std::vector<ConfigError>& errors, const EnvLookup& env)
    : errors_(errors)
    , env_(env) {}

bool ConnectorResolver::ResolveConnector(
    Context& ctx,
    const YamlNode& node,
    const std::string& path,
    const std::string& source_name,
    ResolvedSpec& out,
    std::string& origin
) {
    if (node.IsMapping()) {
        const std::size_t before = ctx.error_count();
        out.spec = ParseSpec(ctx, node, path, source_name);
        out.ok = ctx.error_count() == before;
        origin = "inline";
        return true;
    }
    const auto s = ReadScalar(ctx, node, path, "a built-in connector name or an inline spec");
    if (!s) {
        if (node.IsNull()) {
            ctx.Error(node.mark, path, "needs a built-in connector name or an inline spec");
        }
        return false;
    }
    const std::string& name = s->text;
    const std::string key = "builtin:" + name;
    if (const auto it = cache_.find(key); it != cache_.end()) {
        out = it->second;
        origin = key;
        return true;
    }
    if (auto kept = BuiltinSpecs::Find(name)) {
        cache_.emplace(key, *kept);
        out = std::move(*kept);
        origin = key;
        return true;
    }
    const auto text = cn::BuiltinSpec(name);
    if (!text) {
        ctx.Error(s->mark, path, UnknownConnectorMessage(name));
        return false;
    }
    Context spec_ctx(key, errors_, nullptr, {});
    ResolvedSpec r = ParseText(spec_ctx, std::string(*text), name);
    if (r.ok) {
        // A spec with errors is parsed again each time, so that each load reports them.
        BuiltinSpecs::Keep(name, r);
    }
    cache_.emplace(key, r);
    out = std::move(r);
    origin = key;
    return true;
}

bool ConnectorResolver::ResolveFileSpec(
    Context& ctx,
    const YamlNode& node,
    const std::string& path,
    ResolvedSpec& out,
    std::string& origin
) {
    const auto s = ReadScalar(ctx, node, path, "a file path");
    if (!s || s->text.empty()) {
        if (node.IsNull() || s) {
            ctx.Error(node.mark, path, "needs a file path");
        }
        return false;
    }
    const fs::path file = ctx.Resolve(s->text);
    const std::string key = "file:" + file.lexically_normal().string();
    origin = file.string();
    if (const auto it = cache_.find(key); it != cache_.end()) {
        out = it->second;
        return true;
    }
    const auto text = ReadTextFile(file);
    if (!text) {
        ctx.Error(
            s->mark,
            path,
            "cannot read connector file '" + file.string() + "': " + text.error().message()
        );
        return false;
    }
    Context spec_ctx(file.string(), errors_, &env_, file.parent_path());
    ResolvedSpec r = ParseText(spec_ctx, *text, file.stem().string());
    cache_.emplace(key, r);
    out = std::move(r);
    return true;
}

ResolvedSpec ConnectorResolver::ParseText(
    Context& ctx,
    const std::string& text,
    const std::string& default_name
) {
    ResolvedSpec r;
    auto parsed = ParseYaml(text, ctx.file());
    if (auto* e = std::get_if<ConfigError>(&parsed)) {
        errors_.push_back(std::move(*e));
        return r;
    }
    const std::size_t before = ctx.error_count();
    r.spec = ParseSpec(ctx, std::get<YamlNode>(parsed), "", default_name);
    r.ok = ctx.error_count() == before;
    return r;
}

}  // namespace chatsync::config::detail
