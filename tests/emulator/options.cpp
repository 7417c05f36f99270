#include "emulator/options.hpp"

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

}  // namespace

std::optional<AuthMode> ParseAuthMode(std::string_view name) {
    for (const auto& [text, mode] : kAuthModes) {
        if (text == name) {
            return mode;
        }
    }
    return std::nullopt;
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
                throw std::invalid_argument(
                    "--tiledesk-messages-per-request: must not be negative"
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
                         "tiledesk")
  --records N            records in the generic dataset (default 1000)
  --seed S               dataset seed (default 1)
  --auth MODE            none|bearer|basic|header|query|body|path|login (default none)
  --token T              token for bearer/header/query/body/path (default emulator-token)
  --username U           user for basic/login (default emulator)
  --password P           password for basic/login (default emulator-password)
  --token-ttl DURATION   lifetime of login tokens, e.g. 3600s, 15m (default 1h)
  --max-page-size N      cap on page sizes (default 1000)
  --fault JSON           a fault object, as for POST /_admin/faults (repeatable)
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
  --help                 this text
)";
}

}  // namespace chatsync::emulator
