#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// @file
/// Command-line options of chatsync-emulator.

namespace chatsync::emulator {

/// How the generic routes check credentials (--auth).
enum class AuthMode {
    kNone,    ///< Everything is accepted.
    kBearer,  ///< `Authorization: Bearer <token>`.
    kBasic,   ///< `Authorization: Basic base64(<username>:<password>)`.
    kHeader,  ///< `X-API-Key: <token>`.
    kQuery,   ///< `api_key=<token>` query parameter.
    kBody,    ///< `"api_key": "<token>"` in a JSON body (POST routes only).
    kPath,    ///< Routes served under `/key/<token>/generic/...`, and only there.
    kLogin,   ///< `POST /auth/login` issues tokens; data routes need `Bearer <issued token>`.
};

/// "none", "bearer", ...; nullopt for an unknown name.
std::optional<AuthMode> ParseAuthMode(std::string_view name);
std::string_view AuthModeName(AuthMode mode);

/// What the continuation tokens of /generic/next, /generic/cursor and /generic/cursor-header
/// encode (--generic-tokens).
enum class GenericTokens {
    /// (updated_at, id) of the last record sent: a listing that moves does not shift under it.
    kKeyset,
    /// The position of the next record in the filtered listing: a listing that moves shifts
    /// under it as under an offset.
    kOffset,
};

/// "keyset" or "offset"; nullopt for another name.
std::optional<GenericTokens> ParseGenericTokens(std::string_view name);
std::string_view GenericTokensName(GenericTokens tokens);

/// Everything the emulator is configured with. Defaults are what the binary uses without flags.
struct Options {
    std::string listen_host = "127.0.0.1";
    std::uint16_t listen_port = 0;  ///< 0: the kernel picks one.
    std::string port_file;          ///< Empty: not written.
    std::int64_t records = 1000;
    std::uint64_t seed = 1;
    bool wide_records = false;  ///< Generic records with 19 more fields (benchmarks).
    AuthMode auth = AuthMode::kNone;
    std::string token = "emulator-token";
    std::string username = "emulator";
    std::string password = "emulator-password";
    std::chrono::milliseconds token_ttl = std::chrono::hours(1);
    std::int64_t max_page_size = 1000;
    GenericTokens generic_tokens = GenericTokens::kKeyset;
    std::string moving;  ///< JSON text given with --moving; empty: the listing stays put.
    bool log_requests = false;
    std::vector<std::string> faults;  ///< JSON texts given with --fault.
    std::vector<std::string> modes;   ///< --mode names; empty means every built-in mode.

    // Tiledesk mode (--tiledesk-*).
    std::int64_t tiledesk_requests = 200;
    std::int64_t tiledesk_messages_per_request = 5;
    std::string tiledesk_project = "5b55e806c93dde00143163dd";
    std::string tiledesk_email = "owner@tiledesk.test";
    std::string tiledesk_password = "tiledesk-password";
    std::int64_t tiledesk_rate_limit = 200;  ///< Requests per window; 0 turns the limit off.
    std::chrono::milliseconds tiledesk_rate_window = std::chrono::minutes(1);
    /// Zone of the server process: the legacy date parser reads dates in it.
    std::string tiledesk_timezone = "UTC";
    /// Zone the current date parser uses when the client sends no `timezone`.
    std::string tiledesk_default_timezone = "Europe/Rome";
    bool tiledesk_legacy_dates = false;               ///< --tiledesk-date-filter legacy.
    bool tiledesk_unversioned = false;                ///< Also serve without the /v3 prefix.
    bool tiledesk_sortfield_alias = false;            ///< Read `sortField` when `sort` is absent.
    bool tiledesk_single_role_error = false;          ///< A single `role=` value answers 500.
    std::chrono::milliseconds tiledesk_token_ttl{0};  ///< 0: JWTs never expire.

    // JivoChat mode (--jivochat-*): defaults of the emitter's jobs and the Chat API channels.
    std::string jivochat_key = "EmuJivoProvider1";  ///< First path segment of channel URLs.
    /// "PUBLIC_ID" or "PUBLIC_ID=0|1"; empty: one channel EmuChan001 with status 1.
    std::vector<std::string> jivochat_channels;
    std::string jivochat_url;       ///< Webhooks API target.
    std::string jivochat_crm_url;   ///< CRM Webhooks target; empty: jivochat_url.
    std::string jivochat_chat_url;  ///< Chat API (agent events) target.
    std::string jivochat_bot_url;   ///< Bot API target.
    double jivochat_rate = 0;       ///< Deliveries per second; 0: as fast as possible.
    std::int64_t jivochat_concurrency = 1;
    std::int64_t jivochat_retries = 3;
    std::chrono::milliseconds jivochat_backoff{100};
    std::chrono::milliseconds jivochat_timeout{10000};
    std::int64_t jivochat_count = 100;  ///< Events of "generated".
    std::uint64_t jivochat_seed = 1;
    double jivochat_replay = 0;
    bool jivochat_shuffle = false;
    std::string jivochat_send;  ///< Non-empty: events of a job started at start-up ("a,b").

    // Mesibo mode (--mesibo-*): the backend API at /backend/ and /api.php.
    std::int64_t mesibo_users = 1000;
    std::int64_t mesibo_groups = 150;
    std::int64_t mesibo_max_members = 130;  ///< Largest group; groups of 100 and 101 exist too.
    std::string mesibo_token = "mesibo-app-token";  ///< The app token.
    std::int64_t mesibo_ip_limit = 5;  ///< Distinct client addresses before TOKENBREACH; 0: off.
    std::chrono::milliseconds mesibo_ip_ttl{0};  ///< Idle time that frees a slot; 0: never.
    bool mesibo_trusted = false;                 ///< Trusted app: never TOKENBREACH.
    std::int64_t mesibo_max_count = 100;         ///< Row cap of the list ops.
    std::chrono::milliseconds mesibo_appstats_interval = std::chrono::hours(1);  ///< 0: no limit.
    std::string mesibo_ids = "mixed";                ///< number, string or mixed.
    std::string mesibo_origin_check = "user-agent";  ///< user-agent, any-header or off.
    std::string mesibo_collation = "binary";         ///< binary, ci or ai_ci.
    std::string mesibo_escapes = "honoured";         ///< honoured or ignored.
    std::string mesibo_flags = "int";                ///< int, bool or mixed.
    std::string mesibo_counts = "rows";              ///< rows or total.
    bool mesibo_limited_ops = false;  ///< Only the ops the hosted API allows on-premise.
    std::int64_t mesibo_build = 0;    ///< Non-zero: `build` in error answers (on-premise).
};

/// The outcome of reading argv: options, or a request for the usage text.
struct CommandLine {
    Options options;
    bool help = false;
};

/// Reads the arguments after the program name. Throws std::invalid_argument naming the flag
/// on an unknown flag, a missing value or a bad value.
CommandLine ParseCommandLine(const std::vector<std::string>& args);

/// The --help text.
std::string Usage();

}  // namespace chatsync::emulator
