#include "emulator/frame/options.hpp"

#include <array>
#include <charconv>
#include <stdexcept>
#include <utility>

#include "core/duration.hpp"

namespace chatsync::emulator {
namespace {

constexpr std::array<std::pair<std::string_view, AuthMode>, 8> kAuthModes{{
    {"none", AuthMode::kNone},
    {"bearer", AuthMode::kBearer},
    {"basic", AuthMode::kBasic},
    {"header", AuthMode::kHeader},
    {"query", AuthMode::kQuery},
    {"body", AuthMode::kBody},
    {"path", AuthMode::kPath},
    {"login", AuthMode::kLogin},
}};

template <class T>
T ParseNumber(std::string_view flag, std::string_view text) {
    T value{};
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || ptr != text.data() + text.size()) {
        throw std::invalid_argument(std::string(flag) + ": not a number: " + std::string(text));
    }
    return value;
}

/// "127.0.0.1:8080", "[::1]:0", or a bare port.
void ParseListen(std::string_view text, Options& options) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        options.listen_port = ParseNumber<std::uint16_t>("--listen", text);
        return;
    }
    std::string_view host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    if (host.empty()) {
        throw std::invalid_argument("--listen: missing host in " + std::string(text));
    }
    options.listen_host = std::string(host);
    options.listen_port = ParseNumber<std::uint16_t>("--listen", text.substr(colon + 1));
}

std::chrono::milliseconds ParseTtl(std::string_view text) {
    // A bare number is seconds, which is what most APIs' "expires_in" means.
    if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos) {
        return std::chrono::seconds(ParseNumber<std::int64_t>("--token-ttl", text));
    }
    const auto ttl = ParseDuration(text);
    if (!ttl) {
        throw std::invalid_argument("--token-ttl: bad duration: " + std::string(text));
    }
    return *ttl;
}

/// The --jivochat-* flags; `value()` reads the flag's argument.
template <class Value>
void ParseJivoChatFlag(const std::string& flag, const Value& value, Options& options) {
    const auto duration = [&flag](const std::string& text) {
        const auto d = ParseDuration(text);
        if (!d || d->count() < 0) {
            throw std::invalid_argument(flag + ": bad duration: " + text);
        }
        return *d;
    };
    const auto at_least = [&flag](std::int64_t n, std::int64_t min) {
        if (n < min) {
            throw std::invalid_argument(flag + ": must be at least " + std::to_string(min));
        }
        return n;
    };
    if (flag == "--jivochat-key") {
        options.jivochat_key = value();
        if (options.jivochat_key.empty() || options.jivochat_key.find('/') != std::string::npos) {
            throw std::invalid_argument("--jivochat-key: must be one non-empty path segment");
        }
    } else if (flag == "--jivochat-channel") {
        options.jivochat_channels.push_back(value());
    } else if (flag == "--jivochat-url") {
        options.jivochat_url = value();
    } else if (flag == "--jivochat-crm-url") {
        options.jivochat_crm_url = value();
    } else if (flag == "--jivochat-chat-url") {
        options.jivochat_chat_url = value();
    } else if (flag == "--jivochat-bot-url") {
        options.jivochat_bot_url = value();
    } else if (flag == "--jivochat-rate") {
        options.jivochat_rate = ParseNumber<double>(flag, value());
        if (!(options.jivochat_rate >= 0)) {
            throw std::invalid_argument("--jivochat-rate: must not be negative");
        }
    } else if (flag == "--jivochat-concurrency") {
        options.jivochat_concurrency = at_least(ParseNumber<std::int64_t>(flag, value()), 1);
    } else if (flag == "--jivochat-retries") {
        options.jivochat_retries = at_least(ParseNumber<std::int64_t>(flag, value()), 0);
    } else if (flag == "--jivochat-backoff") {
        options.jivochat_backoff = duration(value());
    } else if (flag == "--jivochat-timeout") {
        options.jivochat_timeout = duration(value());
    } else if (flag == "--jivochat-count") {
        options.jivochat_count = at_least(ParseNumber<std::int64_t>(flag, value()), 0);
    } else if (flag == "--jivochat-seed") {
        options.jivochat_seed = ParseNumber<std::uint64_t>(flag, value());
    } else if (flag == "--jivochat-replay") {
        options.jivochat_replay = ParseNumber<double>(flag, value());
        if (!(options.jivochat_replay >= 0 && options.jivochat_replay <= 1)) {
            throw std::invalid_argument("--jivochat-replay: must be between 0 and 1");
        }
    } else if (flag == "--jivochat-shuffle") {
        options.jivochat_shuffle = true;
    } else if (flag == "--jivochat-send") {
        options.jivochat_send = value();
    } else {
        throw std::invalid_argument("unknown argument: " + flag);
    }
}

/// The --mesibo-* flags; `value()` reads the flag's argument.
template <class Value>
void ParseMesiboFlag(const std::string& flag, const Value& value, Options& options) {
    const auto count = [&flag](std::int64_t n, std::int64_t min) {
        if (n < min) {
            throw std::invalid_argument(flag + ": must be at least " + std::to_string(min));
        }
        return n;
    };
    const auto one_of = [&flag](std::string v, const std::vector<std::string_view>& names) {
        std::string list;
        for (const auto name : names) {
            if (v == name) {
                return v;
            }
            list += (list.empty() ? "" : ", ") + std::string(name);
        }
        throw std::invalid_argument(flag + ": one of " + list);
    };
    if (flag == "--mesibo-users") {
        options.mesibo_users = count(ParseNumber<std::int64_t>(flag, value()), 0);
    } else if (flag == "--mesibo-groups") {
        options.mesibo_groups = count(ParseNumber<std::int64_t>(flag, value()), 0);
    } else if (flag == "--mesibo-max-members") {
        options.mesibo_max_members = count(ParseNumber<std::int64_t>(flag, value()), 0);
    } else if (flag == "--mesibo-token") {
        options.mesibo_token = value();
        if (options.mesibo_token.empty()) {
            throw std::invalid_argument("--mesibo-token: must not be empty");
        }
    } else if (flag == "--mesibo-ip-limit") {
        options.mesibo_ip_limit = count(ParseNumber<std::int64_t>(flag, value()), 0);
    } else if (flag == "--mesibo-ip-ttl") {
        options.mesibo_ip_ttl = ParseTtl(value());
    } else if (flag == "--mesibo-trusted") {
        options.mesibo_trusted = true;
    } else if (flag == "--mesibo-max-count") {
        options.mesibo_max_count = count(ParseNumber<std::int64_t>(flag, value()), 1);
    } else if (flag == "--mesibo-appstats-interval") {
        options.mesibo_appstats_interval = ParseTtl(value());
    } else if (flag == "--mesibo-ids") {
        options.mesibo_ids = one_of(value(), {"number", "string", "mixed"});
    } else if (flag == "--mesibo-origin-check") {
        options.mesibo_origin_check = one_of(value(), {"user-agent", "any-header", "off"});
    } else if (flag == "--mesibo-collation") {
        options.mesibo_collation = one_of(value(), {"binary", "ci", "ai_ci"});
    } else if (flag == "--mesibo-case-insensitive") {
        options.mesibo_collation = "ci";
    } else if (flag == "--mesibo-escapes") {
        options.mesibo_escapes = one_of(value(), {"honoured", "ignored"});
    } else if (flag == "--mesibo-flags") {
        options.mesibo_flags = one_of(value(), {"int", "bool", "mixed"});
    } else if (flag == "--mesibo-counts") {
        options.mesibo_counts = one_of(value(), {"rows", "total"});
    } else if (flag == "--mesibo-limited-ops") {
        options.mesibo_limited_ops = true;
    } else if (flag == "--mesibo-build") {
        options.mesibo_build = count(ParseNumber<std::int64_t>(flag, value()), 0);
    } else {
        throw std::invalid_argument("unknown argument: " + flag);
    }
}

}  // namespace

std::optional<AuthMode> ParseAuthMode(std::string_view name) {
    for (const auto& [text, mode] : kAuthModes) {
        if (text == name) {
            return mode;
        }
    }
    return std::nullopt;
}

std::optional<GenericTokens> ParseGenericTokens(std::string_view name) {
    if (name == "keyset") {
        return GenericTokens::kKeyset;
    }
    if (name == "offset") {
        return GenericTokens::kOffset;
    }
    return std::nullopt;
}

std::string_view GenericTokensName(GenericTokens tokens) {
    return tokens == GenericTokens::kOffset ? "offset" : "keyset";
}

std::string_view AuthModeName(AuthMode mode) {
    for (const auto& [text, value] : kAuthModes) {
        if (value == mode) {
            return text;
        }
    }
    return "none";
}

CommandLine ParseCommandLine(const std::vector<std::string>& args) {
    CommandLine result;
    Options& options = result.options;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string flag = args[i];
        std::optional<std::string> inline_value;
        if (const auto eq = flag.find('='); flag.starts_with("--") && eq != std::string::npos) {
            inline_value = flag.substr(eq + 1);
            flag.resize(eq);
        }
        const auto value = [&]() -> std::string {
            if (inline_value) {
                return *inline_value;
            }
            if (i + 1 >= args.size()) {
                throw std::invalid_argument(flag + ": missing value");
            }
            return args[++i];
        };
        if (flag == "--help" || flag == "-h") {
            result.help = true;
        } else if (flag == "--listen") {
            ParseListen(value(), options);
        } else if (flag == "--port-file") {
            options.port_file = value();
        } else if (flag == "--records") {
            options.records = ParseNumber<std::int64_t>(flag, value());
            if (options.records < 0) {
                throw std::invalid_argument("--records: must not be negative");
            }
        } else if (flag == "--seed") {
            options.seed = ParseNumber<std::uint64_t>(flag, value());
        } else if (flag == "--wide-records") {
            options.wide_records = true;
        } else if (flag == "--auth") {
            const std::string name = value();
            const auto mode = ParseAuthMode(name);
            if (!mode) {
                throw std::invalid_argument(
                    "--auth: unknown mode " + name +
                    " (none, bearer, basic, header, query, body, path, login)"
                );
            }
            options.auth = *mode;
        } else if (flag == "--token") {
            options.token = value();
        } else if (flag == "--username") {
            options.username = value();
        } else if (flag == "--password") {
            options.password = value();
        } else if (flag == "--token-ttl") {
            options.token_ttl = ParseTtl(value());
        } else if (flag == "--max-page-size") {
            options.max_page_size = ParseNumber<std::int64_t>(flag, value());
            if (options.max_page_size < 1) {
                throw std::invalid_argument("--max-page-size: must be at least 1");
            }
        } else if (flag == "--generic-tokens") {
            const std::string name = value();
            const auto tokens = ParseGenericTokens(name);
            if (!tokens) {
                throw std::invalid_argument("--generic-tokens: keyset or offset, not " + name);
            }
            options.generic_tokens = *tokens;
        } else if (flag == "--moving") {
            options.moving = value();
        } else if (flag == "--log-requests") {
            options.log_requests = true;
        } else if (flag == "--fault") {
            options.faults.push_back(value());
        } else if (flag == "--tiledesk-requests") {
            options.tiledesk_requests = ParseNumber<std::int64_t>(flag, value());
            if (options.tiledesk_requests < 0) {
                throw std::invalid_argument("--tiledesk-requests: must not be negative");
            }
        } else if (flag == "--tiledesk-messages-per-request") {
            options.tiledesk_messages_per_request = ParseNumber<std::int64_t>(flag, value());
            if (options.tiledesk_messages_per_request < 0) {
                throw std::invalid_argument("--tiledesk-messages-per-request: must not be negative"
                );
            }
        } else if (flag == "--tiledesk-project") {
            options.tiledesk_project = value();
        } else if (flag == "--tiledesk-email") {
            options.tiledesk_email = value();
        } else if (flag == "--tiledesk-password") {
            options.tiledesk_password = value();
        } else if (flag == "--tiledesk-rate-limit") {
            options.tiledesk_rate_limit = ParseNumber<std::int64_t>(flag, value());
            if (options.tiledesk_rate_limit < 0) {
                throw std::invalid_argument("--tiledesk-rate-limit: must not be negative");
            }
        } else if (flag == "--tiledesk-rate-window") {
            const auto window = ParseTtl(value());
            if (window.count() <= 0) {
                throw std::invalid_argument("--tiledesk-rate-window: must be positive");
            }
            options.tiledesk_rate_window = window;
        } else if (flag == "--tiledesk-timezone") {
            options.tiledesk_timezone = value();
        } else if (flag == "--tiledesk-default-timezone") {
            options.tiledesk_default_timezone = value();
        } else if (flag == "--tiledesk-date-filter") {
            const std::string v = value();
            if (v != "current" && v != "legacy") {
                throw std::invalid_argument("--tiledesk-date-filter: current or legacy");
            }
            options.tiledesk_legacy_dates = v == "legacy";
        } else if (flag == "--tiledesk-unversioned") {
            options.tiledesk_unversioned = true;
        } else if (flag == "--tiledesk-sortfield-alias") {
            options.tiledesk_sortfield_alias = true;
        } else if (flag == "--tiledesk-single-role-error") {
            options.tiledesk_single_role_error = true;
        } else if (flag == "--tiledesk-token-ttl") {
            options.tiledesk_token_ttl = ParseTtl(value());
        } else if (flag.starts_with("--jivochat-")) {
            ParseJivoChatFlag(flag, value, options);
        } else if (flag.starts_with("--mesibo-")) {
            ParseMesiboFlag(flag, value, options);
        } else if (flag == "--mode") {
            options.modes.push_back(value());
        } else {
            throw std::invalid_argument("unknown argument: " + args[i]);
        }
    }
    return result;
}

std::string Usage() {
    return R"(usage: chatsync-emulator [options]

Imitates upstream REST APIs on loopback for tests. Prints "listening on HOST:PORT" once ready
and serves until SIGTERM or SIGINT.

  --listen HOST:PORT     address to listen on (default 127.0.0.1:0, any free port)
  --port-file PATH       also write the port number to PATH
  --mode NAME            serve this mode (repeatable; default: every mode; "generic",
                         "tiledesk", "jivochat", "mesibo")
  --records N            records in the generic dataset (default 1000)
  --seed S               dataset seed (default 1)
  --wide-records         generic records of about 30 fields (nested objects, arrays, longer
                         unicode text) instead of 12, as a production API sends them
  --auth MODE            none|bearer|basic|header|query|body|path|login (default none)
  --token T              token for bearer/header/query/body/path (default emulator-token)
  --username U           user for basic/login (default emulator)
  --password P           password for basic/login (default emulator-password)
  --token-ttl DURATION   lifetime of login tokens, e.g. 3600s, 15m (default 1h)
  --max-page-size N      cap on page sizes (default 1000)
  --generic-tokens KIND  keyset|offset: what the continuation tokens of /generic/next,
                         /cursor and /cursor-header encode: (updated_at, id) of the last
                         record sent, or the position of the next one in the filtered
                         listing, which shifts when the listing moves (default keyset)
  --moving JSON          make the generic listing move while it is read, as a live
                         platform's does; the setting is a JSON object, as for
                         POST /_admin/moving (GET shows it and its counters, DELETE stops):
                           every N       step before every N-th listing request (page,
                                         offset, next, cursor, cursor-header, link,
                                         search) (default 1)
                           update N      records updated per step: new content and an
                                         updated_at later than any, so they move to the
                                         end of the listing (default 1)
                           insert N      records added per step (default 0)
                           delete N      records removed per step; the rest shift back
                                         (default 0)
                           seed S        seed of the picks, uniform over all records
                                         (default 1)
                           stop_after N  no more steps after N (default: never stop)
                           enabled B     false turns moving off (default true)
                           tokens KIND   as --generic-tokens; a body with only this
                                         field leaves the moving as it is
                         GET also answers the totals steps, updated, inserted,
                         deleted and deleted_ids (every id moving deleted)
  --fault JSON           a fault object, as for POST /_admin/faults (repeatable):
                         kind (429|500|502|503|delay|drop|truncate|malformed),
                         count (-1: forever),
                         after, path, path_prefix, method, page, ms (delay),
                         retry_after (seconds, default 2 on a 429; false: no header),
                         retry_after_date
  --log-requests         print one line per request to stderr

Tiledesk mode (routes under /v3/{project_id}, POST /v3/auth/signin, /_admin/tiledesk/...):
  --tiledesk-requests N              seeded conversations (default 200)
  --tiledesk-messages-per-request M  messages per seeded conversation (default 5)
  --tiledesk-project ID              the one project id, 24 hex (default 5b55e806c93dde00143163dd)
  --tiledesk-email E                 owner account e-mail (default owner@tiledesk.test)
  --tiledesk-password P              owner account password (default tiledesk-password)
  --tiledesk-rate-limit N            requests per window before 429; 0 = off (default 200)
  --tiledesk-rate-window DURATION    rate-limit window (default 60s)
  --tiledesk-timezone ZONE           server process zone; the legacy date parser uses it
                                     (default UTC)
  --tiledesk-default-timezone ZONE   zone for start_date/end_date when the request has no
                                     `timezone` (default Europe/Rome, as the server code)
  --tiledesk-date-filter current|legacy  date parser of the server version (default current)
  --tiledesk-unversioned             also serve the routes without the /v3 prefix
  --tiledesk-sortfield-alias         honour `sortField` when `sort` is absent (old docs)
  --tiledesk-single-role-error       project_users?role=X (one value) answers 500
  --tiledesk-token-ttl DURATION      JWT lifetime (default: never expire, as the server)

JivoChat mode ("jivochat": an event emitter driven by POST /_admin/jivochat/jobs, and the Chat
API channel GET /KEY/PUBLIC_ID/status); the job flags are defaults a job body may override:
  --jivochat-key K                   first path segment of channel URLs (default EmuJivoProvider1)
  --jivochat-channel ID[=0|1]        a channel and its status (repeatable; default EmuChan001=1)
  --jivochat-url URL                 Webhooks API target of jobs
  --jivochat-crm-url URL             CRM Webhooks target (default: --jivochat-url)
  --jivochat-chat-url URL            Chat API target (agent messages)
  --jivochat-bot-url URL             Bot API target
  --jivochat-rate N                  deliveries per second; 0 = as fast as possible (default 0)
  --jivochat-concurrency N           deliveries in flight at once (default 1)
  --jivochat-retries N               resends after a 5xx or a transport failure (default 3)
  --jivochat-backoff DURATION        wait before a resend (default 100ms)
  --jivochat-timeout DURATION        per attempt (default 10s)
  --jivochat-count N                 events of "generated" (default 100)
  --jivochat-seed S                  generator, replay and shuffle seed (default 1)
  --jivochat-replay F                fraction of events delivered twice, 0..1 (default 0)
  --jivochat-shuffle                 deliver in a seeded random order
  --jivochat-send LIST               start a job at start-up with these comma-separated
                                     events/groups (webhooks, crm, chat_api, bot, catalogue,
                                     generated, or catalogue names)

Mesibo mode (the backend API: POST /backend/ (also /backend, /api.php) with {"op","token",...};
always HTTP 200, failures as result:false with error/code; admin under /_admin/mesibo/...):
  --mesibo-users N                   seeded users (default 1000); addresses share long
                                     prefixes and hold _, %, accents, leading symbols and
                                     mixed case (families in README's emulator section)
  --mesibo-groups N                  seeded groups (default 150)
  --mesibo-max-members N             largest group (default 130); groups of 100 and 101 exist
  --mesibo-token T                   the app token (default mesibo-app-token)
  --mesibo-ip-limit N                distinct client addresses per token before the app is
                                     disabled with TOKENBREACH; 0 = off (default 5)
  --mesibo-ip-ttl DURATION           idle time after which an address frees its slot
                                     (default 0: never, as the backend seems to do)
  --mesibo-trusted                   trusted app: extra addresses are allowed, not a breach
  --mesibo-max-count N               row cap of usersget/groupsget/groupgetmembers
                                     (default 100 as the 2023 build; the old docs say 20)
  --mesibo-appstats-interval DURATION  appstats answers RATELIMITED within this time of its
                                     last success; 0 = off (default 1h)
  --mesibo-ids number|string|mixed   uid/gid as JSON numbers, as strings (old api.php), or
                                     per record both (default mixed)
  --mesibo-origin-check user-agent|any-header|off  BADORIGIN when the User-Agent (or any
                                     header) contains Android or Mobile (default user-agent)
  --mesibo-collation binary|ci|ai_ci  how address/name filters (exact and wildcard) and
                                     address lookups compare: byte for byte; ASCII letters
                                     in either case; or case- and accent-insensitive like
                                     MySQL's utf8mb4_0900_ai_ci (Latin-1 and Latin
                                     Extended-A letters fold to their base letter, é = e,
                                     Ø = o, Æ = ae, ß = ss; LIKE compares character by
                                     character, so Æ matches æ but not ae) (default binary)
  --mesibo-case-insensitive          the same as --mesibo-collation ci
  --mesibo-escapes honoured|ignored  whether a backslash in a wildcard filter makes the next
                                     character literal (MySQL's default), or is an ordinary
                                     character (NO_BACKSLASH_ESCAPES) (default honoured)
  --mesibo-flags int|bool|mixed      users' active/pinned/online, groups' pinned and
                                     members' cansend/canrecv/canpub/cansub/canlist as 0/1
                                     (the 2023 build), as true/false, or per record either
                                     (seeded) (default int)
  --mesibo-counts rows|total         userscount/groupscount/mcount: the rows in the answer,
                                     or every matching row before the cap; count is always
                                     the rows in the answer (default rows)
  --mesibo-limited-ops               only useradd, userset, usertoken, userdel, otp, appstats
                                     (the hosted API for on-premise apps); others BADVALUE
  --mesibo-build N                   add "build":N to error answers (on-premise 2023)
  Test hooks: POST /_admin/mesibo/breach disables the app now (every later request answers
  TOKENBREACH); POST /_admin/mesibo/barrier {"requests":N,"timeout_ms":T} holds the next API
  requests unanswered until N of them wait or T ms pass, then answers them all; the "mesibo"
  object of GET /_admin/stats has first_breach_at_ms and after_breach (requests that arrived
  after the first TOKENBREACH answer was sent).
  --help                 this text
)";
}

}  // namespace chatsync::emulator
