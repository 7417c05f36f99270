#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "core/duration.hpp"
#include "core/table.hpp"

/// @file
/// The connector spec model: how to talk to one API, as plain data. The config loader fills it
/// from YAML (a built-in spec by name, an inline spec, or a spec file); the runner reads it.
///
/// Strings marked "template" may contain `{{ name }}` placeholders, resolved at request time
/// from this context:
/// | name | value |
/// | --- | --- |
/// | config.<key> | the source's `config:` values (secrets included; they never reach logs) |
/// | parent.<path> | a field of the parent record (child resources) |
/// | cursor.start | the start of the incremental window, in the spec's cursor format |
/// | cursor.end | the run's start time, in the spec's cursor format |
/// | page.number, page.offset, page.limit, page.token | the pagination position |
/// | auth.token | the token obtained by a login request |
/// | env.<NAME> | never: environment values enter only through `${NAME}` in the config |

namespace chatsync::connectors {

/// One name/value pair whose value is a template.
using TemplatePair = std::pair<std::string, std::string>;

/// How one request is built.
struct RequestSpec {
    std::string method = "GET";
    /// Template. Relative to the connector's base_url; an absolute URL replaces it.
    std::string path;
    /// Query parameters; a parameter whose template renders to "" is left out.
    std::vector<TemplatePair> query;
    std::vector<TemplatePair> headers;
    /// JSON body (POST and friends); every string inside is a template. A string that is
    /// exactly one placeholder keeps the value's JSON type (a number stays a number).
    std::optional<boost::json::value> body;

    bool operator==(const RequestSpec&) const = default;
};

enum class AuthKind {
    kNone,
    /// `Authorization: Bearer <token>`.
    kBearer,
    /// `Authorization: Basic base64(username:password)`.
    kBasic,
    /// A key placed in a header, the query, the JSON body or the URL path.
    kApiKey,
    /// A login request whose response yields a token, sent in a header; re-run on 401.
    kLogin,
};

enum class ApiKeyPlacement {
    kHeader,
    kQuery,
    /// A top-level field of the JSON body.
    kBody,
    /// Substituted into the path through `{{ auth.key }}`; nothing is added elsewhere.
    kPath,
};

/// A condition on one config value, for choosing between auth alternatives.
struct AuthCondition {
    std::string param;
    enum class Test {
        kSet,     ///< The value is given and not empty.
        kUnset,   ///< The value is missing or empty.
        kEquals,  ///< The value equals `value`.
    } test = Test::kSet;
    std::string value;

    bool operator==(const AuthCondition&) const = default;
};

struct AuthSpec {
    AuthKind kind = AuthKind::kNone;
    /// As one of several alternatives (ConnectorSpec::auth_options): used when every
    /// condition holds; an alternative without conditions always applies.
    std::vector<AuthCondition> when;
    /// kBearer: template for the token.
    std::string token;
    /// kBasic: templates.
    std::string username;
    std::string password;
    /// kApiKey: header, parameter or body field name, and the value template.
    ApiKeyPlacement placement = ApiKeyPlacement::kHeader;
    std::string key_name;
    std::string key_value;
    /// kLogin: the request that signs in, where the token is in its JSON response (a dotted
    /// path), and how it is sent: header name and value template using `{{ auth.token }}`.
    RequestSpec login;
    std::string token_path;
    std::string header_name = "Authorization";
    std::string header_value = "Bearer {{ auth.token }}";
    /// Sign in again after this long even without a 401 (0: only on 401).
    Millis token_ttl{0};

    bool operator==(const AuthSpec&) const = default;
};

enum class PaginationKind {
    /// One request, one page.
    kNone,
    /// `page=N`, from `start_page`.
    kPageNumber,
    /// `offset=N&limit=M`.
    kOffset,
    /// The next page's URL is in the body at `next_url_path`.
    kNextUrl,
    /// An opaque token from the body (`token_path`) or a header (`token_header`), sent back as
    /// the `token_param` query parameter.
    kCursor,
    /// RFC 8288 `Link: <url>; rel="next"`.
    kLinkHeader,
};

/// Where the runner puts pagination parameters (page, offset, limit, token).
enum class Injection {
    /// As query parameters (default).
    kQuery,
    /// As top-level fields of the JSON body.
    kBody,
    /// Nowhere: the request templates place them through `{{ page.* }}`.
    kNone,
};

struct PaginationSpec {
    PaginationKind kind = PaginationKind::kNone;
    Injection inject = Injection::kQuery;
    std::string page_param = "page";
    std::int64_t start_page = 1;
    std::string offset_param = "offset";
    std::string limit_param = "limit";
    /// Page size sent as `limit_param` (offset) or, when set, alongside page numbers too.
    std::int64_t page_size = 100;
    /// Whether the page size is sent with page-number pagination.
    bool send_page_size = false;
    std::string next_url_path;
    std::string token_path;
    std::string token_header;
    std::string token_param = "cursor";
    /// Stop conditions besides an empty page (always) and a missing next link/token:
    /// a total record count in the body; a total page count; a has-more flag; a page limit.
    std::string total_path;
    std::string total_pages_path;
    std::string has_more_path;
    std::int64_t max_pages = 0;
    /// Stop when a page has fewer records than page_size. Off by default: some APIs silently
    /// cap the page size, and a short page would then end the listing early.
    bool stop_on_short_page = false;

    bool operator==(const PaginationSpec&) const = default;
};

/// How cursor values are written in requests and read from records.
enum class CursorFormat {
    /// ISO-8601 / RFC 3339 date-time, UTC, with milliseconds: 2024-01-31T12:00:00.000Z.
    kIso8601,
    /// Seconds since the epoch.
    kUnixSeconds,
    /// Milliseconds since the epoch.
    kUnixMillis,
    /// A plain number that only grows (ids, sequence numbers).
    kNumber,
    /// A strftime pattern (`format_pattern`), always in UTC, e.g. "%Y-%m-%d".
    kCustom,
};

struct IncrementalSpec {
    /// Dotted path of the cursor field in each record.
    std::string cursor_field;
    /// Query parameter that receives `cursor.start` (optional; templates can place it anywhere).
    std::string start_param;
    /// Query parameter that receives `cursor.end` (optional).
    std::string end_param;
    CursorFormat format = CursorFormat::kIso8601;
    std::string format_pattern;
    /// How the record's cursor field is written; defaults to `format`, but APIs often take a
    /// day ("%Y-%m-%d") and return full timestamps.
    std::optional<CursorFormat> record_format;
    std::string record_format_pattern;
    /// The start of the first run's window, in `format` ("" : from the beginning, no filter).
    std::string initial_value;
    /// Each run re-reads this far behind the committed cursor, for late-arriving updates.
    /// Unchanged rows are not rewritten, so a wide window costs requests, not writes.
    Millis lookback{0};
    /// The listing is ordered by the cursor field, ascending, and `cursor.start` is an
    /// inclusive lower bound: each page after the first restarts the listing at the last
    /// cursor value read (records sharing it are read again and skipped), so records that
    /// move or vanish behind the reader cannot shift unread ones past it.
    bool keyset = false;

    bool operator==(const IncrementalSpec&) const = default;
};

/// Lists a resource whose API answers at most `split_at` records a call and cannot page past
/// them, but filters on a key prefix: each call asks for one prefix, and a call that comes
/// back full is split into narrower ones (the prefix itself, matched exactly, and the prefix
/// followed by each character that may come next) until every call returns fewer; probes
/// learn how the filter treats case and escapes (see partition.hpp). Templates place
/// `{{ partition.pattern }}` (what is sent: the prefix plus the wildcard, or the bare key of
/// an exact call) and `{{ partition.prefix }}`.
struct PartitionSpec {
    enum class Case : std::uint8_t {
        kSensitive,    ///< The alphabet names every letter it needs, in each case.
        kInsensitive,  ///< The filter folds case: one case of each letter is enough.
        kProbe,        ///< A probe finds out; the alphabet is written in lower case.
    };

    /// Dotted path of the record field the prefix filters on.
    std::string field;
    /// Characters a full prefix is extended with, in order. Characters seen in any key
    /// outside it are added as they appear.
    std::string alphabet;
    std::int64_t split_at = 100;
    /// Appended to a prefix to match everything that starts with it.
    std::string wildcard = "*";
    /// Matches any one character (SQL LIKE's `_`); stands for what cannot be named.
    std::string any_char;
    /// Characters that do not match themselves unless escaped (SQL LIKE's `%`, `_`, `\`).
    /// They are escaped only after a probe shows that the server honours `escape`.
    std::string metacharacters;
    /// Characters that never match themselves, escaped or not (Mesibo turns `*` into `%`).
    std::string never_literal;
    std::string escape = "\\";
    Case case_mode = Case::kSensitive;
    /// The field's values are unique: a full answer that holds the prefix itself as a key
    /// needs no exact call.
    bool unique = false;
    /// Below a prefix whose keys share their next character, probe which characters occur at
    /// all, so that the calls below it name only those.
    bool exclusion_probes = true;
    /// Prefixes longer than this are not split further (a warning says so).
    std::size_t max_prefix = 128;

    bool operator==(const PartitionSpec&) const = default;
};

/// A resource fetched once per record of its parent resource.
struct ParentSpec {
    /// The parent resource's name.
    std::string resource;
    /// Child column name -> dotted path in the parent record; these columns are added to every
    /// child row (and usually form part of its key).
    std::vector<std::pair<std::string, std::string>> fields;
    /// Only for parent rows that the page inserted or changed (default), or for all of them.
    bool only_changed = true;

    bool operator==(const ParentSpec&) const = default;
};

enum class ErrorAction {
    /// Treat as a normal response.
    kSuccess,
    /// An empty page: stop paginating, no error.
    kIgnore,
    /// Retry with backoff (counts toward max_attempts).
    kRetry,
    /// Wait (Retry-After if present, else backoff) and retry; pauses the whole source.
    kRateLimited,
    /// Credentials rejected: re-login once if the auth is a login, else fail the run.
    kAuthFailed,
    /// Fail the run; the checkpoint is kept.
    kFatal,
    /// Fail the run and latch the source: no request until an operator clears it.
    kLatch,
    /// Fail the run and hold the whole source: no request from any of its resources until
    /// the hold ends (retry.hold) or the config is reloaded. For answers that say the
    /// source's configuration is wrong (an unknown account or project), where every further
    /// request would fail the same way.
    kHold,
};

/// Maps a response to an action. All given conditions must hold; rules are tried in order,
/// the source's rules before the built-in defaults.
struct ErrorRule {
    /// Status codes; empty means any. "5xx"-style classes are expanded by the loader.
    std::vector<unsigned> status;
    /// The body contains this text.
    std::string body_contains;
    /// The JSON body's value at this dotted path equals `body_equals` (compared as JSON).
    std::string body_path;
    std::optional<boost::json::value> body_equals;
    ErrorAction action = ErrorAction::kFatal;
    /// Template for the log line and the run log; may use `{{ body.<path> }}`,
    /// `{{ status }}` and `{{ source.name }}` (the name of the source the rule stops).
    std::string message;

    bool operator==(const ErrorRule&) const = default;
};

struct ScheduleSpec {
    Millis interval = std::chrono::minutes(5);
    /// Each wait is interval + uniform(-jitter, +jitter).
    Millis jitter = std::chrono::seconds(0);

    bool operator==(const ScheduleSpec&) const = default;
};

struct ResourceSpec {
    std::string name;
    RequestSpec request;
    PaginationSpec pagination;
    /// Dotted path to the records in the body ("" : the body itself). An object there is a
    /// one-record page; null is an empty page.
    std::string records_path;
    /// Further paths, tried in order when the body has nothing at records_path: APIs that
    /// answer one record as an object under another key (`users: [...]` but `user: {...}`).
    std::vector<std::string> more_records_paths;
    /// Whether a body without any records path is an empty page (true) or a malformed one.
    bool records_optional = false;
    /// Dotted paths of the fields that form the primary key (composite allowed).
    std::vector<std::string> primary_key;
    std::optional<IncrementalSpec> incremental;
    std::optional<PartitionSpec> partition;
    std::optional<ParentSpec> parent;
    /// Listed in full on every run: rows no longer returned get `_chatsync_deleted_at`.
    bool soft_delete = false;
    ScheduleSpec schedule;
    /// Whether the spec gives this resource a schedule of its own (for example an API that
    /// allows one call an hour). A source-level schedule in the config then leaves it alone;
    /// only a per-resource override changes it.
    bool own_schedule = false;
    /// For APIs that refuse a second call within a period (Mesibo's appstats: one an hour):
    /// a run that starts sooner than this after the last run that went ahead, from any
    /// process on the same database, sends nothing and ends `not_due`. Zero: no limit.
    Millis min_interval{0};
    std::vector<ErrorRule> error_rules;
    /// For APIs that answer a bare scalar (JivoChat's channel status: `0` or `1`): such a
    /// body is the record `{<scalar_field>: <value>}`. Its numeric value is also exported as
    /// the gauge chatsync_status_value.
    std::string scalar_field;
    /// The resource keeps a history of changes: a run writes its one record, with
    /// `changed_at` (the run's start) added, only when it differs from the record of the
    /// last run that wrote one. The primary key is then `changed_at`.
    bool changes_only = false;
    /// Config values the resource needs: unless each is set, the resource is disabled
    /// (`check-config` says so), and enabling it in the config is an error.
    std::vector<std::string> requires_params;
    /// Objects nested deeper than this are stored whole as jsonb instead of flattened.
    std::uint32_t max_nesting = 3;
    /// Declared column types by record path (dotted, as primary_key writes it; at most
    /// max_nesting components), for fields whose form varies between answers (0/1 and
    /// true/false, numbers and strings of digits). Such a column has its declared type
    /// whatever an answer holds; a value that cannot take it fails the page. A parent field
    /// of a child resource is declared by its column name. A declared object path is stored
    /// whole (jsonb) or as text, not flattened.
    std::map<std::string, ColumnType, std::less<>> column_types;
    bool enabled = true;

    bool operator==(const ResourceSpec&) const = default;
};

/// A declared config value of the connector (documented, validated by the loader).
struct ParamSpec {
    bool required = false;
    bool secret = false;
    std::optional<std::string> default_value;
    std::string description;

    bool operator==(const ParamSpec&) const = default;
};

struct RateLimitSpec {
    /// 0: unlimited.
    std::uint32_t requests_per_minute = 0;
    /// Requests that may start at once after a quiet spell, beyond the even pace; 0: one
    /// second's share of requests_per_minute (at least 1).
    std::uint32_t burst = 0;
    std::uint32_t concurrency = 4;

    /// `burst`, or its default when 0.
    std::uint32_t EffectiveBurst() const noexcept {
        return burst != 0 ? burst : std::max<std::uint32_t>(1, requests_per_minute / 60);
    }

    bool operator==(const RateLimitSpec&) const = default;
};

/// For platforms that disable a token used from too many addresses (Mesibo's TOKENBREACH):
/// the source must send from a pinned address (http.local_address) unless its config says
/// the host has one stable egress address (http.stable_egress), and it never sends from
/// more than `max_addresses` different addresses over its life in one database.
struct EgressGuardSpec {
    std::uint32_t max_addresses = 2;

    bool operator==(const EgressGuardSpec&) const = default;
};

/// Events the platform pushes to the daemon's webhook listener, mapped to tables by a
/// strategy implemented in C++ (see lib/connectors/builtin/).
struct WebhookSpec {
    /// The mapping: "jivochat".
    std::string strategy;
    /// The config value holding the secret token that is part of the source's webhook URLs.
    std::string token_param = "webhook_token";
    bool operator==(const WebhookSpec&) const = default;
};

struct ConnectorSpec {
    std::string name;
    /// Template (usually from config, e.g. "{{ config.base_url }}").
    std::string base_url;
    /// The auth in effect. A spec with alternatives (`auth: {one_of: [...]}`) lists them in
    /// auth_options; the config loader copies the first whose conditions the source's config
    /// values meet into `auth`.
    AuthSpec auth;
    std::vector<AuthSpec> auth_options;
    std::vector<TemplatePair> headers;
    std::map<std::string, ParamSpec> params;
    std::vector<ErrorRule> error_rules;
    RateLimitSpec rate_limit;
    ScheduleSpec schedule;
    std::optional<EgressGuardSpec> egress_guard;
    std::optional<WebhookSpec> webhook;
    std::vector<ResourceSpec> resources;

    bool operator==(const ConnectorSpec&) const = default;

    const ResourceSpec* FindResource(const std::string& resource_name) const {
        for (const auto& r : resources) {
            if (r.name == resource_name) {
                return &r;
            }
        }
        return nullptr;
    }
};

}  // namespace chatsync::connectors
