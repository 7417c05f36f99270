#include <algorithm>
#include <cctype>
#include <cerrno>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "config/config.hpp"
#include "config/detail/interpolate.hpp"
#include "config/detail/reader.hpp"
#include "config/detail/spec_parser.hpp"
#include "config/detail/yaml_tree.hpp"
#include "connectors/builtin.hpp"
#include "core/text.hpp"
#include "sink/dsn.hpp"

namespace chatsync::config {

namespace {

namespace cn = chatsync::connectors;
namespace fs = std::filesystem;
using detail::Context;
using detail::JoinNames;
using detail::JoinPath;
using detail::MapReader;
using detail::Mark;
using detail::YamlNode;

constexpr std::int64_t kMaxUint32 = std::numeric_limits<std::uint32_t>::max();
/// More connections than any open-file limit allows.
constexpr std::int64_t kMaxConnections = 10'000'000;
constexpr std::size_t kMaxSchemaName = 63;
constexpr std::string_view kFileSuffix = "_file";

const std::vector<std::string> kLogLevels{"trace", "debug", "info", "warn", "error"};
const std::vector<std::string> kLogFormats{"text", "json"};

/// Reads a whole file; on failure returns nullopt and says why (never what it holds).
std::optional<std::string> ReadTextFile(const fs::path& path, std::string& why) {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec) {
        why = ec.message();
        return std::nullopt;
    }
    if (fs::is_directory(status)) {
        why = "is a directory";
        return std::nullopt;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        why = std::generic_category().message(errno);
        return std::nullopt;
    }
    std::ostringstream out;
    out << in.rdbuf();
    if (in.bad()) {
        why = "read error";
        return std::nullopt;
    }
    return std::move(out).str();
}

/// The length of the UTF-8 sequence that starts at `at`, or 0 when none does (a stray
/// continuation byte, an overlong form, a surrogate, a code point past U+10FFFF, or a
/// sequence cut short).
std::size_t Utf8SequenceLength(std::string_view text, std::size_t at) {
    const auto byte = [&](std::size_t i) {
        return i < text.size() ? static_cast<unsigned char>(text[i]) : 0U;
    };
    const unsigned lead = byte(at);
    const auto continuation = [&](std::size_t i, unsigned low, unsigned high) {
        const unsigned b = byte(i);
        return i < text.size() && b >= low && b <= high;
    };
    if (lead < 0x80) {
        return 1;
    }
    if (lead >= 0xC2 && lead <= 0xDF) {
        return continuation(at + 1, 0x80, 0xBF) ? 2 : 0;
    }
    if (lead >= 0xE0 && lead <= 0xEF) {
        // E0 needs A0..BF (no overlong forms); ED needs 80..9F (no surrogates).
        const unsigned low = lead == 0xE0 ? 0xA0 : 0x80;
        const unsigned high = lead == 0xED ? 0x9F : 0xBF;
        return continuation(at + 1, low, high) && continuation(at + 2, 0x80, 0xBF) ? 3 : 0;
    }
    if (lead >= 0xF0 && lead <= 0xF4) {
        // F0 needs 90..BF (no overlong forms); F4 needs 80..8F (nothing past U+10FFFF).
        const unsigned low = lead == 0xF0 ? 0x90 : 0x80;
        const unsigned high = lead == 0xF4 ? 0x8F : 0xBF;
        return continuation(at + 1, low, high) && continuation(at + 2, 0x80, 0xBF) &&
                       continuation(at + 3, 0x80, 0xBF)
                   ? 4
                   : 0;
    }
    return 0;
}

/// An error at the first byte that makes `text` no UTF-8 text (a NUL, or an invalid
/// sequence), with its line, column and byte offset; never the bytes themselves.
std::optional<ConfigError> NotText(std::string_view text, const std::string& file) {
    int line = 1;
    int column = 1;
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t length = text[i] == '\0' ? 0 : Utf8SequenceLength(text, i);
        if (length == 0) {
            const std::string what = text[i] == '\0' ? "a NUL byte" : "not UTF-8 text";
            return ConfigError(
                file,
                line,
                column,
                "",
                what + " at byte offset " + std::to_string(i) +
                    ": a config file is YAML in UTF-8 (is this a binary file, or in another "
                    "encoding?)"
            );
        }
        if (text[i] == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
        i += length;
    }
    return std::nullopt;
}

/// Secret files usually end with a newline (echo, editors); it is never part of the secret.
std::string TrimTrailingNewlines(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) {
        s.pop_back();
    }
    return s;
}

bool LooksSecret(std::string_view key) {
    const std::string k = ToLower(key);
    for (const std::string_view word :
         {"password", "passwd", "token", "secret", "key", "dsn", "credential"}) {
        if (k.find(word) != std::string::npos) {
            return true;
        }
    }
    return false;
}

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

/// "host:port" with a numeric port; IPv6 hosts in brackets.
bool IsListenAddress(std::string_view s) {
    const std::size_t colon = s.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size()) {
        return false;
    }
    const std::string_view host = s.substr(0, colon);
    const std::string_view port = s.substr(colon + 1);
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return false;
    }
    if (std::stoul(std::string(port)) > 65535) {
        return false;
    }
    if (host.find(':') != std::string_view::npos) {
        return host.front() == '[' && host.back() == ']';
    }
    return true;
}

/// A resolved connector spec and whether it was free of errors (only then are the source's
/// references to it, such as resource overrides, checked against it).
struct ResolvedSpec {
    cn::ConnectorSpec spec;
    bool ok = false;
};

/// Source-level overrides as written, applied once the spec is known.
struct SourceOverrides {
    std::optional<Millis> interval;
    std::optional<Millis> jitter;
    std::optional<std::uint32_t> requests_per_minute;
    std::optional<std::uint32_t> burst;
    std::optional<std::uint32_t> concurrency;
    /// Resource name -> where it was written.
    std::vector<std::pair<std::string, Mark>> resource_marks;
};

class Loader {
public:
    explicit Loader(detail::EnvLookup env)
        : env_(std::move(env)) {}

    Config Load(const std::string& text, const std::string& file, const fs::path& base_dir) {
        Config config;
        config.path = file;
        // Checked before the YAML parser sees it: its messages quote what they stumble on,
        // and a binary file's bytes have no place on a terminal or in the journal.
        if (auto bad = NotText(text, file)) {
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
            MapReader am(ctx, *a, "admin");
            if (const YamlNode* l = am.Get("listen")) {
                if (const auto s = detail::ReadScalar(ctx, *l, "admin.listen")) {
                    if (!s->text.empty() && !IsListenAddress(s->text)) {
                        ctx.Error(
                            s->mark,
                            "admin.listen",
                            "expected host:port such as 127.0.0.1:9187" + s->Got()
                        );
                    } else {
                        config.admin.listen = s->text;
                    }
                }
            }
            if (const YamlNode* n = am.Get("stale_after_intervals")) {
                if (const auto v =
                        detail::ReadPositiveNumber(ctx, *n, am.PathOf("stale_after_intervals"))) {
                    config.admin.stale_after_intervals = *v;
                }
            }
            if (const auto v = am.Integer("max_connections", 0, kMaxConnections)) {
                config.admin.max_connections = static_cast<std::uint32_t>(*v);
            }
            if (const auto v = am.Integer("max_connections_per_client", 0, kMaxConnections)) {
                config.admin.max_connections_per_client = static_cast<std::uint32_t>(*v);
            }
            am.Finish();
        }
        if (const YamlNode* w = m.Get("webhooks")) {
            MapReader wm(ctx, *w, "webhooks");
            if (const YamlNode* l = wm.Get("listen")) {
                if (const auto s = detail::ReadScalar(ctx, *l, "webhooks.listen")) {
                    if (!s->text.empty() && !IsListenAddress(s->text)) {
                        ctx.Error(
                            s->mark,
                            "webhooks.listen",
                            "expected host:port such as 127.0.0.1:8080" + s->Got()
                        );
                    } else {
                        config.webhooks.listen = s->text;
                    }
                }
            }
            if (const auto v = wm.ByteSize("max_body_bytes")) {
                if (*v == 0) {
                    ctx.Error(
                        wm.Get("max_body_bytes")->mark,
                        wm.PathOf("max_body_bytes"),
                        "must be greater than 0"
                    );
                } else {
                    config.webhooks.max_body_bytes = *v;
                }
            }
            if (const auto v = wm.Integer("max_batch_events", 1, 100000)) {
                config.webhooks.max_batch_events = static_cast<std::uint32_t>(*v);
            }
            ReadListenerLimits(ctx, wm, config.webhooks);
            wm.Finish();
        }
        if (const YamlNode* l = m.Get("log")) {
            MapReader lm(ctx, *l, "log");
            if (const auto i = lm.Choice("level", kLogLevels)) {
                config.log.level = kLogLevels[*i];
            }
            if (const auto i = lm.Choice("format", kLogFormats)) {
                config.log.format = kLogFormats[*i];
            }
            lm.Finish();
        }
        if (const YamlNode* l = m.Get("limits")) {
            MapReader lm(ctx, *l, "limits");
            if (const auto v = lm.Integer("max_concurrent_runs", 1, kMaxUint32)) {
                config.limits.max_concurrent_runs = static_cast<std::uint32_t>(*v);
            }
            if (const auto v = lm.Duration("shutdown_grace")) {
                config.limits.shutdown_grace = *v;
            }
            if (const auto v = lm.ByteSize("max_response_bytes")) {
                if (*v == 0) {
                    ctx.Error(
                        lm.Get("max_response_bytes")->mark,
                        lm.PathOf("max_response_bytes"),
                        "must be greater than 0"
                    );
                } else {
                    config.limits.max_response_bytes = *v;
                }
            }
            if (const auto v = lm.Integer("max_batch_rows", 1, kMaxUint32)) {
                config.limits.max_batch_rows = static_cast<std::uint32_t>(*v);
            }
            if (const auto v = lm.ByteSize("max_in_flight_bytes")) {
                config.limits.max_in_flight_bytes = *v;
            }
            lm.Finish();
        }
        if (const YamlNode* s = m.Get("sources")) {
            if (const auto* items = detail::ReadList(ctx, *s, "sources")) {
                std::map<std::string, int> first_line;
                for (std::size_t i = 0; i < items->size(); ++i) {
                    ReadSource(
                        ctx, (*items)[i], detail::IndexPath("sources", i), config, first_line
                    );
                }
            }
        }
        m.Finish();
    }

    /// The webhook listener's connection budgets, timeouts and body budget.
    static void ReadListenerLimits(Context& ctx, MapReader& wm, WebhooksConfig& webhooks) {
        if (const auto v = wm.Integer("max_connections", 0, kMaxConnections)) {
            webhooks.max_connections = static_cast<std::uint32_t>(*v);
        }
        if (const auto v = wm.Integer("max_connections_per_client", 0, kMaxConnections)) {
            webhooks.max_connections_per_client = static_cast<std::uint32_t>(*v);
        }
        if (const auto v = wm.Duration("header_timeout", true)) {
            webhooks.header_timeout = *v;
        }
        if (const auto v = wm.Duration("idle_timeout", true)) {
            webhooks.idle_timeout = *v;
        }
        if (const auto v = wm.Duration("body_timeout", true)) {
            webhooks.body_timeout = *v;
        }
        if (const auto v = wm.ByteSize("body_min_rate")) {
            if (*v == 0) {
                ctx.Error(
                    wm.Get("body_min_rate")->mark,
                    wm.PathOf("body_min_rate"),
                    "must be greater than 0 (bytes per second)"
                );
            } else {
                webhooks.body_min_rate = *v;
            }
        }
        if (const auto v = wm.ByteSize("max_body_bytes_in_flight")) {
            if (*v < webhooks.max_body_bytes) {
                ctx.Error(
                    wm.Get("max_body_bytes_in_flight")->mark,
                    wm.PathOf("max_body_bytes_in_flight"),
                    "must be at least max_body_bytes (" + std::to_string(webhooks.max_body_bytes) +
                        " bytes), or no body of the largest size could ever be taken"
                );
            } else {
                webhooks.max_body_bytes_in_flight = *v;
            }
        }
    }

    void
    ReadDatabase(Context& ctx, const YamlNode& node, const std::string& path, DatabaseConfig& db) {
        MapReader m(ctx, node, path);
        const YamlNode* dsn = m.Get("dsn");
        const YamlNode* dsn_file = m.Get("dsn_file");
        if (dsn != nullptr && dsn_file != nullptr && !dsn->IsNull() && !dsn_file->IsNull()) {
            ctx.Error(
                m.KeyNode("dsn_file")->mark, m.PathOf("dsn_file"), "set dsn or dsn_file, not both"
            );
        } else if (dsn_file != nullptr) {
            if (auto content = ReadSecretFile(ctx, *dsn_file, m.PathOf("dsn_file"))) {
                db.dsn = std::move(*content);
                CheckDsn(ctx, *dsn_file, m.PathOf("dsn_file"), "the file's DSN: ", db.dsn);
            }
        } else if (dsn != nullptr) {
            db.dsn = detail::ReadString(ctx, *dsn, m.PathOf("dsn")).value_or("");
            CheckDsn(ctx, *dsn, m.PathOf("dsn"), "", db.dsn);
        }
        if (const auto v = m.Integer("pool_size", 1, 1000)) {
            db.pool_size = static_cast<std::size_t>(*v);
        }
        if (const auto v = m.Duration("statement_timeout")) {
            db.statement_timeout = *v;
        }
        if (const auto v = m.Duration("connect_timeout", true)) {
            db.connect_timeout = *v;
        }
        if (const YamlNode* e = m.Get("embedded")) {
            MapReader em(ctx, *e, m.PathOf("embedded"));
            if (auto v = em.String("bin_dir"); v && !v->empty()) {
                db.embedded.bin_dir = ctx.Resolve(*v);
            }
            if (const auto v = em.Integer("port", 0, 65535)) {
                db.embedded.port = static_cast<std::uint16_t>(*v);
            }
            if (auto v = em.String("run_as_user")) {
                db.embedded.run_as_user = std::move(*v);
            }
            em.Finish();
        }
        m.Finish();
    }

    /// A DSN that libpq would refuse is a config error, reported where it is written: left
    /// to start-up, it would look like a database that is down, and a service manager would
    /// restart the daemon for ever. The message never holds the password (sink::DsnProblem).
    static void CheckDsn(
        Context& ctx,
        const YamlNode& node,
        const std::string& path,
        const std::string& prefix,
        const std::string& dsn
    ) {
        if (dsn.empty()) {
            return;
        }
        if (auto problem = sink::DsnProblem(dsn)) {
            ctx.Error(node.mark, path, prefix + *problem);
        }
    }

    /// Reads the file named at `node` (relative to the config's directory), trimmed.
    std::optional<std::string>
    ReadSecretFile(Context& ctx, const YamlNode& node, const std::string& path) {
        const auto s = detail::ReadScalar(ctx, node, path, "a file path");
        if (!s) {
            if (node.IsNull()) {
                ctx.Error(node.mark, path, "needs a file path");
            }
            return std::nullopt;
        }
        if (s->text.empty()) {
            ctx.Error(s->mark, path, "needs a file path");
            return std::nullopt;
        }
        const fs::path file = ctx.Resolve(s->text);
        std::string why;
        auto content = ReadTextFile(file, why);
        if (!content) {
            ctx.Error(s->mark, path, "cannot read file '" + file.string() + "': " + why);
            return std::nullopt;
        }
        return TrimTrailingNewlines(std::move(*content));
    }

    void ReadSource(
        Context& ctx,
        const YamlNode& node,
        const std::string& path,
        Config& config,
        std::map<std::string, int>& first_line
    ) {
        SourceConfig src;
        MapReader m(ctx, node, path);
        if (!m.valid()) {
            return;
        }
        if (const YamlNode* n = m.Required("name")) {
            if (const auto s = detail::ReadScalar(ctx, *n, m.PathOf("name"))) {
                src.name = s->text;
                CheckSourceName(ctx, *s, m.PathOf("name"), first_line);
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
            have_spec = ResolveFileSpec(
                ctx, *connector_file, m.PathOf("connector_file"), resolved, src.connector_origin
            );
        } else if (connector != nullptr) {
            have_spec = ResolveConnector(
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
            MapReader sm(ctx, *s, m.PathOf("schedule"));
            ovr.interval = sm.Duration("interval", true);
            ovr.jitter = sm.Duration("jitter");
            sm.Finish();
        }
        if (const YamlNode* r = m.Get("rate_limit")) {
            MapReader rm(ctx, *r, m.PathOf("rate_limit"));
            if (const auto v = rm.Integer("requests_per_minute", 0, kMaxUint32)) {
                ovr.requests_per_minute = static_cast<std::uint32_t>(*v);
            }
            if (const auto v = rm.Integer("burst", 1, kMaxUint32)) {
                ovr.burst = static_cast<std::uint32_t>(*v);
            }
            if (const auto v = rm.Integer("concurrency", 1, kMaxUint32)) {
                ovr.concurrency = static_cast<std::uint32_t>(*v);
            }
            rm.Finish();
        }
        if (const YamlNode* r = m.Get("retry")) {
            ReadRetry(ctx, *r, m.PathOf("retry"), src.retry);
        }
        if (const YamlNode* h = m.Get("http")) {
            ReadHttp(ctx, *h, m.PathOf("http"), src.http);
        }
        if (const YamlNode* r = m.Get("resources")) {
            const std::string rp = m.PathOf("resources");
            for (const auto& e : detail::ReadEntries(ctx, *r, rp)) {
                ResourceOverride o;
                MapReader om(ctx, *e.value, JoinPath(rp, e.key));
                o.enabled = om.Bool("enabled");
                o.interval = om.Duration("interval", true);
                o.jitter = om.Duration("jitter");
                om.Finish();
                src.resources.emplace(e.key, o);
                ovr.resource_marks.emplace_back(e.key, e.key_node->mark);
            }
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

    void CheckSourceName(
        Context& ctx,
        const detail::Scalar& s,
        const std::string& path,
        std::map<std::string, int>& first_line
    ) {
        if (!IsSourceName(s.text)) {
            ctx.Error(
                s.mark,
                path,
                "must match [a-z][a-z0-9_]{0,62} (it names a PostgreSQL schema)" + s.Got()
            );
            return;
        }
        if (s.text == "chatsync" || s.text == "information_schema" || s.text.starts_with("pg_")) {
            ctx.Error(
                s.mark,
                path,
                "'" + s.text + "' is reserved (chatsync's own schema, or PostgreSQL's)"
            );
            return;
        }
        const auto [it, inserted] = first_line.emplace(s.text, s.mark.line);
        if (!inserted) {
            ctx.Error(
                s.mark,
                path,
                "duplicate source name '" + s.text + "' (first at line " +
                    std::to_string(it->second) + ")"
            );
        }
    }

    bool ResolveConnector(
        Context& ctx,
        const YamlNode& node,
        const std::string& path,
        const std::string& source_name,
        ResolvedSpec& out,
        std::string& origin
    ) {
        if (node.IsMapping()) {
            const std::size_t before = ctx.error_count();
            out.spec = detail::ParseSpec(ctx, node, path, source_name);
            out.ok = ctx.error_count() == before;
            origin = "inline";
            return true;
        }
        const auto s =
            detail::ReadScalar(ctx, node, path, "a built-in connector name or an inline spec");
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
        const auto text = cn::BuiltinSpec(name);
        if (!text) {
            ctx.Error(s->mark, path, UnknownConnectorMessage(name));
            return false;
        }
        Context spec_ctx(key, errors_, nullptr, {});
        ResolvedSpec r = ParseText(spec_ctx, std::string(*text), name);
        cache_.emplace(key, r);
        out = std::move(r);
        origin = key;
        return true;
    }

    static std::string UnknownConnectorMessage(const std::string& name) {
        std::vector<std::string> names = BuiltinConnectorNames();
        std::string msg = "unknown connector '" + name + "'";
        if (name.find('/') != std::string::npos || name.ends_with(".yaml") ||
            name.ends_with(".yml")) {
            return msg + " (to load a spec file, use connector_file)";
        }
        if (names.empty()) {
            return msg +
                   " (no built-in connectors are available; give an inline spec or connector_file)";
        }
        const std::string close = detail::ClosestMatch(name, names);
        if (!close.empty()) {
            return msg + " (did you mean '" + close + "'? available: " + JoinNames(names) + ")";
        }
        return msg + " (available: " + JoinNames(names) + ")";
    }

    bool ResolveFileSpec(
        Context& ctx,
        const YamlNode& node,
        const std::string& path,
        ResolvedSpec& out,
        std::string& origin
    ) {
        const auto s = detail::ReadScalar(ctx, node, path, "a file path");
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
        std::string why;
        const auto text = ReadTextFile(file, why);
        if (!text) {
            ctx.Error(s->mark, path, "cannot read connector file '" + file.string() + "': " + why);
            return false;
        }
        Context spec_ctx(file.string(), errors_, &env_, file.parent_path());
        ResolvedSpec r = ParseText(spec_ctx, *text, file.stem().string());
        cache_.emplace(key, r);
        out = std::move(r);
        return true;
    }

    ResolvedSpec ParseText(Context& ctx, const std::string& text, const std::string& default_name) {
        ResolvedSpec r;
        auto parsed = detail::ParseYaml(text, ctx.file());
        if (auto* e = std::get_if<ConfigError>(&parsed)) {
            errors_.push_back(std::move(*e));
            return r;
        }
        const std::size_t before = ctx.error_count();
        r.spec = detail::ParseSpec(ctx, std::get<YamlNode>(parsed), "", default_name);
        r.ok = ctx.error_count() == before;
        return r;
    }

    /// The source's `config:` values. `spec` (null when it could not be resolved) declares
    /// which keys exist.
    void ReadValues(
        Context& ctx,
        const YamlNode& node,
        const std::string& path,
        const cn::ConnectorSpec* spec,
        SourceConfig& src,
        std::set<std::string>& given
    ) {
        std::vector<std::string> known;
        if (spec != nullptr) {
            for (const auto& [k, p] : spec->params) {
                known.push_back(k);
            }
            for (const auto& k : detail::ConfigReferences(*spec)) {
                if (std::find(known.begin(), known.end(), k) == known.end()) {
                    known.push_back(k);
                }
            }
        }
        const auto entries = detail::ReadEntries(ctx, node, path);
        std::set<std::string> present;
        for (const auto& e : entries) {
            present.insert(e.key);
        }
        for (const auto& e : entries) {
            const std::string key_path = JoinPath(path, e.key);
            const bool declared = spec != nullptr && spec->params.count(e.key) > 0;
            std::string key = e.key;
            const bool is_file =
                !declared && key.size() > kFileSuffix.size() && key.ends_with(kFileSuffix);
            if (is_file) {
                key.resize(key.size() - kFileSuffix.size());
            }
            if (spec != nullptr && std::find(known.begin(), known.end(), key) == known.end()) {
                ReportUnknownValue(ctx, *e.key_node, key_path, key, is_file, known, spec->name);
                continue;
            }
            // "key:" with no value leaves the key unset, so a required key is still reported.
            if (is_file || !e.value->IsNull()) {
                given.insert(key);
            }
            if (is_file) {
                if (present.count(key) > 0) {
                    ctx.Error(
                        e.key_node->mark, key_path, "set " + key + " or " + e.key + ", not both"
                    );
                    continue;
                }
                if (auto content = ReadSecretFile(ctx, *e.value, key_path)) {
                    src.values[key] = std::move(*content);
                    src.secret_keys.push_back(key);
                }
                continue;
            }
            const auto s = detail::ReadScalar(ctx, *e.value, key_path);
            if (!s) {
                continue;
            }
            src.values[key] = s->text;
            if (LooksSecret(key)) {
                src.secret_keys.push_back(key);
            }
        }
    }

    static void ReportUnknownValue(
        Context& ctx,
        const YamlNode& key_node,
        const std::string& key_path,
        const std::string& key,
        bool is_file,
        const std::vector<std::string>& known,
        const std::string& connector
    ) {
        std::string msg = "unknown key '" + key_node.scalar + "' for connector '" + connector + "'";
        if (known.empty()) {
            ctx.Error(key_node.mark, key_path, msg + " (it takes no config values)");
            return;
        }
        std::string close = detail::ClosestMatch(key, known);
        if (!close.empty()) {
            if (is_file) {
                close += std::string(kFileSuffix);
            }
            ctx.Error(key_node.mark, key_path, msg + " (did you mean '" + close + "'?)");
            return;
        }
        ctx.Error(key_node.mark, key_path, msg + " (it takes " + JoinNames(known) + ")");
    }

    /// A source that receives webhooks needs the listener and a token fit for a URL that
    /// must not be guessed.
    static void CheckWebhook(
        Context& ctx,
        MapReader& m,
        const cn::ConnectorSpec& spec,
        const Config& config,
        const SourceConfig& src
    ) {
        if (!spec.webhook) {
            return;
        }
        if (config.webhooks.listen.empty() && src.enabled) {
            ctx.Error(
                m.mark(),
                m.PathOf("connector"),
                "connector '" + spec.name +
                    "' receives webhooks: set webhooks.listen (for example 127.0.0.1:8080, "
                    "behind a reverse proxy with TLS)"
            );
        }
        const auto& key = spec.webhook->token_param;
        const auto it = src.values.find(key);
        if (it == src.values.end()) {
            return;  // Reported as missing already.
        }
        const auto& token = it->second;
        const bool url_safe = std::all_of(token.begin(), token.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' ||
                   c == '.' || c == '~';
        });
        if (token.size() < 16 || !url_safe) {
            const YamlNode* config_node = m.Get("config");
            ctx.Error(
                config_node != nullptr ? config_node->mark : m.mark(),
                JoinPath(m.PathOf("config"), key),
                "must be at least 16 characters of A-Z a-z 0-9 - _ . ~ (it is the secret part "
                "of the webhook URL; 'openssl rand -hex 24' makes one)"
            );
        }
    }

    static void FillDefaultsAndRequired(
        Context& ctx,
        MapReader& m,
        const cn::ConnectorSpec& spec,
        const std::set<std::string>& given,
        SourceConfig& src
    ) {
        const YamlNode* config_node = m.Get("config");
        const Mark mark = config_node != nullptr ? config_node->mark : m.mark();
        for (const auto& [key, param] : spec.params) {
            if (src.values.count(key) == 0 && given.count(key) == 0) {
                if (param.default_value) {
                    src.values[key] = *param.default_value;
                } else if (param.required) {
                    ctx.Error(
                        mark,
                        JoinPath(m.PathOf("config"), key),
                        "required by connector '" + spec.name + "'; set " + key + " or " + key +
                            std::string(kFileSuffix)
                    );
                    continue;
                }
            }
            if (param.secret && src.values.count(key) > 0) {
                src.secret_keys.push_back(key);
            }
        }
    }

    /// A spec with auth alternatives: the first whose conditions the config values meet
    /// becomes the auth, and every config value it uses must be set.
    static void
    ChooseAuth(Context& ctx, MapReader& m, cn::ConnectorSpec& spec, const SourceConfig& src) {
        if (spec.auth_options.empty()) {
            return;
        }
        const auto value_of = [&src](const std::string& key) -> std::string {
            const auto it = src.values.find(key);
            return it == src.values.end() ? std::string() : it->second;
        };
        const auto applies = [&](const cn::AuthSpec& a) {
            return std::all_of(a.when.begin(), a.when.end(), [&](const cn::AuthCondition& c) {
                const std::string v = value_of(c.param);
                switch (c.test) {
                    case cn::AuthCondition::Test::kSet:
                        return !v.empty();
                    case cn::AuthCondition::Test::kUnset:
                        return v.empty();
                    case cn::AuthCondition::Test::kEquals:
                        break;
                }
                return v == c.value;
            });
        };
        const YamlNode* config_node = m.Get("config");
        const Mark mark = config_node != nullptr ? config_node->mark : m.mark();
        const auto chosen =
            std::find_if(spec.auth_options.begin(), spec.auth_options.end(), applies);
        if (chosen == spec.auth_options.end()) {
            std::vector<std::string> ways;
            for (const auto& a : spec.auth_options) {
                ways.push_back(DescribeAuthOption(a));
            }
            ctx.Error(
                mark,
                m.PathOf("config"),
                "connector '" + spec.name + "' needs credentials: set " +
                    JoinList(ways, "; ", ", or ")
            );
            return;
        }
        std::vector<std::string> missing;
        for (const auto& key : detail::AuthReferences(*chosen)) {
            const bool must_be_unset =
                std::any_of(chosen->when.begin(), chosen->when.end(), [&](const auto& c) {
                    return c.param == key && c.test == cn::AuthCondition::Test::kUnset;
                });
            if (!must_be_unset && value_of(key).empty()) {
                missing.push_back(key);
            }
        }
        if (!missing.empty()) {
            ctx.Error(
                mark,
                m.PathOf("config"),
                "connector '" + spec.name + "' authenticates with " +
                    std::string(detail::AuthKindName(chosen->kind)) + " here (" +
                    DescribeAuthOption(*chosen) + "), which needs " + JoinNames(missing) + " (or " +
                    missing.front() + std::string(kFileSuffix) + ")"
            );
            return;
        }
        spec.auth = *chosen;
    }

    /// "email and password", "token", "email and password with auth_method: basic".
    static std::string DescribeAuthOption(const cn::AuthSpec& a) {
        std::set<std::string> refs = detail::AuthReferences(a);
        std::vector<std::string> equals;
        for (const auto& c : a.when) {
            if (c.test == cn::AuthCondition::Test::kEquals) {
                equals.push_back(c.param + ": " + c.value);
                refs.erase(c.param);
            } else if (c.test == cn::AuthCondition::Test::kUnset) {
                refs.erase(c.param);
            }
        }
        std::string out = JoinList({refs.begin(), refs.end()}, ", ", " and ");
        for (const auto& e : equals) {
            out += " with " + e;
        }
        return out;
    }

    /// "a, b and c": `sep` between items, `last` before the final one.
    static std::string
    JoinList(const std::vector<std::string>& items, std::string_view sep, std::string_view last) {
        std::string out;
        for (std::size_t i = 0; i < items.size(); ++i) {
            if (i > 0) {
                out += i + 1 == items.size() ? last : sep;
            }
            out += items[i];
        }
        return out;
    }

    static void
    ReadRetry(Context& ctx, const YamlNode& node, const std::string& path, RetryConfig& r) {
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
            const YamlNode* at =
                m.Has("max_backoff") ? m.Get("max_backoff") : m.Get("initial_backoff");
            ctx.Error(
                at != nullptr ? at->mark : m.mark(),
                m.PathOf("max_backoff"),
                "must not be shorter than initial_backoff (" + FormatDuration(r.initial_backoff) +
                    ")"
            );
        }
        m.Finish();
    }

    static void
    ReadHttp(Context& ctx, const YamlNode& node, const std::string& path, HttpConfig& h) {
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
            if (const auto s = detail::ReadScalar(ctx, *c, m.PathOf("ca_file"));
                s && !s->text.empty()) {
                const fs::path file = ctx.Resolve(s->text);
                std::string why;
                if (!ReadTextFile(file, why)) {
                    ctx.Error(
                        s->mark,
                        m.PathOf("ca_file"),
                        "cannot read file '" + file.string() + "': " + why
                    );
                } else {
                    h.ca_file = file.string();
                }
            }
        }
        if (const YamlNode* l = m.Get("local_address")) {
            if (const auto s = detail::ReadScalar(ctx, *l, m.PathOf("local_address"))) {
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

    /// The source's schedule, rate limit and per-resource settings win over the spec's, so
    /// that consumers read the effective values from `connector` alone. A source schedule
    /// replaces the spec's default schedule, not a schedule the spec gives one resource on
    /// purpose; a per-resource override replaces either.
    static void ApplyOverrides(
        Context& ctx,
        const std::string& resources_path,
        const SourceOverrides& ovr,
        bool check_names,
        SourceConfig& src
    ) {
        cn::ConnectorSpec& spec = src.connector;
        if (ovr.interval) {
            spec.schedule.interval = *ovr.interval;
        }
        if (ovr.jitter) {
            spec.schedule.jitter = *ovr.jitter;
        }
        for (auto& r : spec.resources) {
            if (r.own_schedule) {
                continue;
            }
            if (ovr.interval) {
                r.schedule.interval = *ovr.interval;
            }
            if (ovr.jitter) {
                r.schedule.jitter = *ovr.jitter;
            }
        }
        if (ovr.requests_per_minute) {
            spec.rate_limit.requests_per_minute = *ovr.requests_per_minute;
        }
        if (ovr.burst) {
            spec.rate_limit.burst = *ovr.burst;
        }
        if (ovr.concurrency) {
            spec.rate_limit.concurrency = *ovr.concurrency;
        }
        std::vector<std::string> names;
        for (const auto& r : spec.resources) {
            names.push_back(r.name);
        }
        for (const auto& [name, mark] : ovr.resource_marks) {
            const ResourceOverride& o = src.resources.at(name);
            auto it = std::find_if(
                spec.resources.begin(),
                spec.resources.end(),
                // An init-capture: Clang before 16 cannot capture a structured binding.
                [&wanted = name](const cn::ResourceSpec& r) { return r.name == wanted; }
            );
            if (it == spec.resources.end()) {
                if (check_names) {
                    const std::string close = detail::ClosestMatch(name, names);
                    ctx.Error(
                        mark,
                        JoinPath(resources_path, name),
                        "unknown resource '" + name + "' of connector '" + spec.name + "'" +
                            (close.empty() ? " (resources: " + JoinNames(names) + ")"
                                           : " (did you mean '" + close + "'?)")
                    );
                }
                continue;
            }
            if (o.enabled) {
                it->enabled = *o.enabled;
            }
            if (o.interval) {
                it->schedule.interval = *o.interval;
            }
            if (o.jitter) {
                it->schedule.jitter = *o.jitter;
            }
        }
        // A resource that needs a config value the source does not set is off; enabling it
        // explicitly is a mistake worth reporting.
        for (auto& r : spec.resources) {
            for (const auto& param : r.requires_params) {
                const auto v = src.values.find(param);
                if (v != src.values.end() && !v->second.empty()) {
                    continue;
                }
                const auto o = src.resources.find(r.name);
                if (o != src.resources.end() && o->second.enabled.value_or(false)) {
                    for (const auto& [name, mark] : ovr.resource_marks) {
                        if (name == r.name) {
                            ctx.Error(
                                mark,
                                JoinPath(resources_path, name),
                                "resource '" + name + "' needs config." + param + "; set it"
                            );
                        }
                    }
                }
                r.enabled = false;
            }
        }
    }

    detail::EnvLookup env_;
    std::vector<ConfigError> errors_;
    /// Specs already parsed ("builtin:<name>" or "file:<path>"), so that a spec shared by
    /// several sources is parsed, and its errors reported, once.
    std::map<std::string, ResolvedSpec> cache_;
};

}  // namespace

Config LoadFile(const std::filesystem::path& path) {
    std::string why;
    const auto text = ReadTextFile(path, why);
    if (!text) {
        throw ConfigErrors({ConfigError(path.string(), 0, 0, "", "cannot read config file: " + why)}
        );
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
