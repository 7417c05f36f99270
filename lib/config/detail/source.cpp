#include "config/detail/source.hpp"

#include <algorithm>
#include <set>
#include <string_view>
#include <utility>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "config/detail/map_reader.hpp"
#include "config/detail/source_overrides.hpp"
#include "config/detail/source_values.hpp"
#include "config/detail/text_file.hpp"

namespace chatsync::config::detail {

namespace fs = std::filesystem;

namespace {

/// PostgreSQL truncates identifiers beyond this; a source name becomes a schema name.
constexpr std::size_t kMaxSchemaName = 63;

bool IsSourceName(std::string_view s) {
    if (s.empty() || s.size() > kMaxSchemaName || s[0] < 'a' || s[0] > 'z') {
        return false;
    }
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

bool IsIpAddress(const std::string& s) {
    in6_addr buf{};
    return inet_pton(AF_INET, s.c_str(), &buf) == 1 || inet_pton(AF_INET6, s.c_str(), &buf) == 1;
}

void CheckSourceName(Context& ctx, const Scalar& s, const std::string& path, SourceNames& names) {
    if (!IsSourceName(s.text)) {
        ctx.Error(
            s.mark, path, "must match [a-z][a-z0-9_]{0,62} (it names a PostgreSQL schema)" + s.Got()
        );
        return;
    }
    if (s.text == "chatsync" || s.text == "information_schema" || s.text.starts_with("pg_")) {
        ctx.Error(
            s.mark, path, "'" + s.text + "' is reserved (chatsync's own schema, or PostgreSQL's)"
        );
        return;
    }
    const auto found = names.find(s.text);
    if (found == names.end()) {
        names.emplace(s.text, NamePlace{ctx.file(), s.mark.line});
        return;
    }
    const NamePlace& first = found->second;
    // Within one file the line is enough; across files the other file must be named too.
    const std::string where = first.file == ctx.file()
                                  ? "line " + std::to_string(first.line)
                                  : first.file + ":" + std::to_string(first.line);
    ctx.Error(s.mark, path, "duplicate source name '" + s.text + "' (first at " + where + ")");
}

void ReadRetry(Context& ctx, const YamlNode& node, const std::string& path, RetryConfig& r) {
    MapReader m(ctx, node, path);
    if (const auto v = m.Integer("max_attempts", 1, 1000)) {
        r.max_attempts = static_cast<std::uint32_t>(*v);
    }
    if (const auto v = m.Duration("initial_backoff", true)) {
        r.initial_backoff = *v;
    }
    if (const auto v = m.Duration("max_backoff", true)) {
        r.max_backoff = *v;
    }
    if (const auto v = m.Duration("max_retry_after")) {
        r.max_retry_after = *v;
    }
    if (const auto v = m.Duration("hold")) {
        r.hold = *v;
    }
    if (r.max_backoff < r.initial_backoff) {
        const YamlNode* at = m.Has("max_backoff") ? m.Get("max_backoff") : m.Get("initial_backoff");
        ctx.Error(
            at != nullptr ? at->mark : m.mark(),
            m.PathOf("max_backoff"),
            "must not be shorter than initial_backoff (" + FormatDuration(r.initial_backoff) + ")"
        );
    }
    m.Finish();
}

void ReadHttp(Context& ctx, const YamlNode& node, const std::string& path, HttpConfig& h) {
    MapReader m(ctx, node, path);
    if (const auto v = m.Duration("connect_timeout", true)) {
        h.connect_timeout = *v;
    }
    if (const auto v = m.Duration("idle_timeout", true)) {
        h.idle_timeout = *v;
    }
    if (const auto v = m.Duration("total_timeout", true)) {
        h.total_timeout = *v;
    }
    if (const auto v = m.Bool("verify_tls")) {
        h.verify_tls = *v;
    }
    if (const YamlNode* c = m.Get("ca_file")) {
        if (const auto s = ReadScalar(ctx, *c, m.PathOf("ca_file")); s && !s->text.empty()) {
            const fs::path file = ctx.Resolve(s->text);
            if (const auto read = ReadTextFile(file); !read) {
                ctx.Error(
                    s->mark,
                    m.PathOf("ca_file"),
                    "cannot read file '" + file.string() + "': " + read.error().message()
                );
            } else {
                h.ca_file = file.string();
            }
        }
    }
    if (const YamlNode* l = m.Get("local_address")) {
        if (const auto s = ReadScalar(ctx, *l, m.PathOf("local_address"))) {
            if (!s->text.empty() && !IsIpAddress(s->text)) {
                ctx.Error(
                    s->mark,
                    m.PathOf("local_address"),
                    "expected an IP address such as 192.0.2.10" + s->Got()
                );
            } else {
                h.local_address = s->text;
            }
        }
    }
    if (const auto v = m.Bool("stable_egress")) {
        h.stable_egress = *v;
    }
    m.Finish();
}

}  // namespace

void ReadSource(
    Context& ctx,
    const YamlNode& node,
    const std::string& path,
    Config& config,
    SourceNames& names,
    ConnectorResolver& resolver
) {
    SourceConfig src;
    src.place = {ctx.file(), path};
    MapReader m(ctx, node, path);
    if (!m.valid()) {
        return;
    }
    if (const YamlNode* n = m.Required("name")) {
        if (const auto s = ReadScalar(ctx, *n, m.PathOf("name"))) {
            src.name = s->text;
            CheckSourceName(ctx, *s, m.PathOf("name"), names);
        }
    }
    if (const auto v = m.Bool("enabled")) {
        src.enabled = *v;
    }

    ResolvedSpec resolved;
    bool have_spec = false;
    const YamlNode* connector = m.Get("connector");
    const YamlNode* connector_file = m.Get("connector_file");
    if (connector != nullptr && connector_file != nullptr) {
        ctx.Error(
            m.KeyNode("connector_file")->mark,
            m.PathOf("connector_file"),
            "set connector or connector_file, not both"
        );
    } else if (connector_file != nullptr) {
        have_spec = resolver.ResolveFileSpec(
            ctx, *connector_file, m.PathOf("connector_file"), resolved, src.connector_origin
        );
    } else if (connector != nullptr) {
        have_spec = resolver.ResolveConnector(
            ctx, *connector, m.PathOf("connector"), src.name, resolved, src.connector_origin
        );
    } else {
        ctx.Error(
            m.mark(), m.PathOf("connector"), "required key is missing (or set connector_file)"
        );
    }
    const bool spec_ok = have_spec && resolved.ok;

    // Keys the source set, even when reading the value failed: a key whose file cannot be
    // read is reported as unreadable, not also as missing.
    std::set<std::string> given;
    if (const YamlNode* c = m.Get("config")) {
        ReadValues(ctx, *c, m.PathOf("config"), spec_ok ? &resolved.spec : nullptr, src, given);
    }
    if (spec_ok) {
        FillDefaultsAndRequired(ctx, m, resolved.spec, given, src);
        ChooseAuth(ctx, m, resolved.spec, src);
        CheckWebhook(ctx, m, resolved.spec, config, src);
    }

    SourceOverrides ovr;
    if (const YamlNode* s = m.Get("schedule")) {
        ovr.schedule = ReadSchedule(ctx, *s, m.PathOf("schedule"));
    }
    if (const YamlNode* r = m.Get("rate_limit")) {
        ovr.rate_limit = ReadRateLimit(ctx, *r, m.PathOf("rate_limit"));
    }
    if (const YamlNode* r = m.Get("retry")) {
        ReadRetry(ctx, *r, m.PathOf("retry"), src.retry);
    }
    if (const YamlNode* h = m.Get("http")) {
        ReadHttp(ctx, *h, m.PathOf("http"), src.http);
    }
    if (const YamlNode* r = m.Get("resources")) {
        ReadResourceOverrides(ctx, *r, m.PathOf("resources"), src, ovr);
    }
    m.Finish();

    if (have_spec) {
        src.connector = std::move(resolved.spec);
        ApplyOverrides(ctx, JoinPath(path, "resources"), ovr, spec_ok, src);
    }
    std::sort(src.secret_keys.begin(), src.secret_keys.end());
    src.secret_keys.erase(
        std::unique(src.secret_keys.begin(), src.secret_keys.end()), src.secret_keys.end()
    );
    config.sources.push_back(std::move(src));
}

}  // namespace chatsync::config::detail
