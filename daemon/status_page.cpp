#include "daemon/status_page.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <set>
#include <utility>

#include <openssl/evp.h>

#include "core/duration.hpp"
#include "core/text.hpp"
#include "core/time.hpp"

namespace chatsync::daemon {
namespace {

/// The page's only style. The Content-Security-Policy allows it by its hash, so any change
/// here changes the header with it (StatusPageSecurityPolicy() hashes this very text).
constexpr std::string_view kStyle = R"css(
body{font:14px/1.4 system-ui,sans-serif;margin:0 1.5em 2em;color:#1d232a;background:#f6f7f9}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:.4em 1.5em;padding:.8em 0}
h1{font-size:1.4em;margin:0}h2{font-size:1.1em;margin:0 0 .4em}
nav a{margin-right:1em}.meta{color:#5b6570;margin:0}
section{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:.8em 1em;margin:.8em 0}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.25em .6em;border-bottom:1px solid #e7eaee;vertical-align:top}
th{font-weight:600;color:#5b6570;font-size:.9em}td.n{text-align:right}
code,.cursor,.text{font-family:ui-monospace,monospace;font-size:.92em}
.text{white-space:pre-wrap;word-break:break-word}.cursor{word-break:break-all}
.badge{display:inline-block;padding:0 .5em;border-radius:9px;font-size:.85em;margin-left:.4em}
.ok{color:#17692b}.bad{color:#a8201a}.warn{color:#8a5a00}.none{color:#5b6570}
.badge.bad{background:#fbe3e1}.badge.warn{background:#fdf0d5}.badge.ok{background:#dff3e4}
.badge.none{background:#eceff2}
.latch,.hold,.problem{border-left:4px solid #a8201a;background:#fdf3f2;padding:.4em .7em;margin:.4em 0}
.hold{border-color:#d08c00;background:#fffaf0}
tr.error td{border-bottom:1px solid #e7eaee;color:#a8201a;padding-left:2em}
)css";

constexpr std::string_view kNeverRun = "never run";

void Append(std::string& out, std::initializer_list<std::string_view> parts) {
    for (const auto part : parts) {
        out += part;
    }
}

/// The colour class of an outcome: only these fixed words reach a class attribute.
std::string_view OutcomeClass(std::string_view outcome) {
    if (outcome == "success" || outcome == "not_due") {
        return "ok";
    }
    if (outcome == "held" || outcome == "cancelled" || outcome == "skipped" ||
        outcome == "running") {
        return "warn";
    }
    if (outcome == kNeverRun) {
        return "none";
    }
    return "bad";
}

std::string FormatWhen(PageTime t) {
    return FormatTime(
               std::chrono::time_point_cast<std::chrono::microseconds>(t), "%Y-%m-%d %H:%M:%S"
           ) +
           " UTC";
}

/// "2026-12-07 05:20:00 UTC (3m12s ago)", or "in 4m" for a time to come.
std::string FormatRelative(PageTime t, PageTime now) {
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now - t);
    const auto text = FormatDuration(std::chrono::abs(seconds));
    return FormatWhen(t) + (seconds.count() >= 0 ? " (" + text + " ago)" : " (in " + text + ")");
}

std::string FormatCount(double value) {
    if (std::isfinite(value) && value == std::floor(value) && std::abs(value) < 9.0e15) {
        return std::to_string(static_cast<std::int64_t>(value));
    }
    std::array<char, 32> buffer{};
    const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
    return ec == std::errc{} ? std::string(buffer.data(), end) : std::string("?");
}

/// One sample line of the exposition: the name, its labels (unescaped) and its value.
struct Sample {
    std::string_view name;
    std::map<std::string, std::string> labels;
    double value = 0;
};

/// Parses `name{label="value",...} number`; nullopt for comments and anything else. Label
/// values are unescaped (\\, \" and \n, the format's only escapes).
std::optional<Sample> ParseSample(std::string_view line) {
    Sample sample;
    const auto brace = line.find('{');
    if (brace == std::string_view::npos || line.starts_with('#')) {
        return std::nullopt;
    }
    sample.name = line.substr(0, brace);
    std::size_t at = brace + 1;
    while (at < line.size() && line[at] != '}') {
        const auto eq = line.find("=\"", at);
        if (eq == std::string_view::npos) {
            return std::nullopt;
        }
        std::string key(line.substr(at, eq - at));
        std::string value;
        at = eq + 2;
        for (; at < line.size() && line[at] != '"'; ++at) {
            if (line[at] == '\\' && at + 1 < line.size()) {
                ++at;
                value += line[at] == 'n' ? '\n' : line[at];
            } else {
                value += line[at];
            }
        }
        if (at >= line.size()) {
            return std::nullopt;
        }
        ++at;  // the closing quote
        if (at < line.size() && line[at] == ',') {
            ++at;
        }
        sample.labels.emplace(std::move(key), std::move(value));
    }
    if (at >= line.size()) {
        return std::nullopt;
    }
    auto rest = line.substr(at + 1);
    while (!rest.empty() && rest.front() == ' ') {
        rest.remove_prefix(1);
    }
    rest = rest.substr(0, rest.find(' '));
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), sample.value);
    if (ec != std::errc{} || end != rest.data() + rest.size()) {
        return std::nullopt;
    }
    return sample;
}

std::string Sha256Base64(std::string_view text) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    if (EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) {
        // Only a broken OpenSSL fails here; the page would then show unstyled, nothing worse.
        return "";
    }
    return Base64Encode(std::string_view(reinterpret_cast<const char*>(digest.data()), size));
}

void RenderHeader(std::string& out, const StatusPageModel& model) {
    Append(out, {"<header><h1>chatsync</h1><p class=\"meta\">version ", EscapeHtml(model.version)});
    Append(
        out,
        {" &middot; started ", EscapeHtml(FormatRelative(model.started_at, model.generated_at))}
    );
    if (!model.replica.empty()) {
        Append(out, {" &middot; replica ", EscapeHtml(model.replica)});
    }
    Append(out, {" &middot; shown ", EscapeHtml(FormatWhen(model.generated_at))});
    if (model.refresh_seconds > 0) {
        Append(out, {", reloads every ", std::to_string(model.refresh_seconds), "s"});
    }
    out +=
        "</p><nav><a href=\"/metrics\">/metrics</a><a href=\"/healthz\">/healthz</a>"
        "<a href=\"/readyz\">/readyz</a></nav></header>\n";
}

void RenderReadiness(std::string& out, const StatusPageModel& model) {
    out += "<section id=\"readiness\"><h2>Readiness: ";
    out += model.ready ? "<span class=\"ok\">ready</span></h2>"
                       : "<span class=\"bad\">not ready</span></h2>";
    if (!model.ready) {
        std::size_t from = 0;
        while (from <= model.ready_detail.size()) {
            const auto nl = model.ready_detail.find('\n', from);
            const auto line = std::string_view(model.ready_detail)
                                  .substr(from, nl == std::string::npos ? nl : nl - from);
            if (!line.empty()) {
                Append(out, {"<p class=\"problem text\">", EscapeHtml(line), "</p>"});
            }
            if (nl == std::string::npos) {
                break;
            }
            from = nl + 1;
        }
    }
    if (!model.state_error.empty()) {
        Append(
            out,
            {"<p class=\"problem text\">cannot read state: ", EscapeHtml(model.state_error), "</p>"}
        );
    }
    out += "</section>\n";
}

void RenderResource(
    std::string& out,
    const PageResource& r,
    const PageSource& source,
    PageTime now,
    bool show_replica
) {
    const auto outcome = EscapeHtml(r.outcome);
    Append(out, {"<tr><td>", EscapeHtml(r.name), "</td><td>"});
    out += r.last_run_at ? EscapeHtml(FormatRelative(*r.last_run_at, now)) : "-";
    if (show_replica && r.last_run_at && !r.replica.empty()) {
        Append(out, {" on <span class=\"replica\">", EscapeHtml(r.replica), "</span>"});
    }
    Append(out, {"</td><td class=\"outcome ", OutcomeClass(r.outcome), "\">", outcome, "</td>"});
    Append(out, {"<td class=\"n\">", std::to_string(r.rows_written), "</td>"});
    Append(out, {"<td class=\"n\">", std::to_string(r.rows_unchanged), "</td>"});
    Append(out, {"<td class=\"cursor\">", r.cursor ? EscapeHtml(*r.cursor) : "-", "</td><td>"});
    out += r.next_run_at ? EscapeHtml(FormatRelative(*r.next_run_at, now)) : "-";
    out += "</td></tr>\n";
    // The run that set the latch failed with the latch's reason, shown above the table.
    const bool said_above =
        source.latch && r.last_error.find(source.latch->reason) != std::string::npos;
    if (!r.last_error.empty() && !said_above) {
        Append(
            out,
            {"<tr class=\"error\"><td colspan=\"7\">last error: <span class=\"text\">",
             EscapeHtml(r.last_error),
             "</span></td></tr>\n"}
        );
    }
    if (r.unfinished_run) {
        Append(
            out,
            {"<tr class=\"error\"><td colspan=\"7\">unfinished run ",
             EscapeHtml(*r.unfinished_run),
             ": the next run resumes from its checkpoint</td></tr>\n"}
        );
    }
}

/// `show_replica`: name the replica that ran each resource's last run (the daemon runs as one
/// of several).
void RenderSource(std::string& out, const PageSource& source, PageTime now, bool show_replica) {
    const auto name = EscapeHtml(source.name);
    Append(out, {"<section class=\"source\" data-source=\"", name, "\"><h2>", name});
    if (!source.enabled) {
        out += "<span class=\"badge none\">disabled</span>";
    }
    if (source.latch) {
        out += "<span class=\"badge bad\">latched</span>";
    }
    if (source.hold) {
        out += "<span class=\"badge warn\">held</span>";
    }
    out += "</h2>\n";
    if (source.latch) {
        Append(
            out,
            {"<p class=\"latch\">Latched since ",
             EscapeHtml(FormatRelative(source.latch->set_at, now)),
             ": <span class=\"text\">",
             EscapeHtml(source.latch->reason),
             "</span><br>No resource of it runs until: <code>chatsyncd breach clear --source ",
             name,
             "</code></p>\n"}
        );
    }
    if (source.hold) {
        Append(
            out,
            {"<p class=\"hold\">Held until ",
             EscapeHtml(FormatRelative(source.hold->until, now)),
             " (or a config reload) after resource ",
             EscapeHtml(source.hold->resource),
             " was refused: <span class=\"text\">",
             EscapeHtml(source.hold->reason),
             "</span></p>\n"}
        );
    }
    out +=
        "<table><thead><tr><th>Resource</th><th>Last run</th><th>Outcome</th><th>Written</th>"
        "<th>Unchanged</th><th>Cursor</th><th>Next run</th></tr></thead><tbody>\n";
    for (const auto& r : source.resources) {
        RenderResource(out, r, source, now, show_replica);
    }
    out += "</tbody></table></section>\n";
}

void RenderWebhooks(std::string& out, const std::vector<WebhookIntake>& webhooks) {
    out += "<section id=\"webhooks\"><h2>Webhook intake</h2>\n";
    if (webhooks.empty()) {
        out += "<p class=\"meta\">No webhook received since the start.</p></section>\n";
        return;
    }
    std::set<std::string> outcomes;
    for (const auto& w : webhooks) {
        for (const auto& [outcome, n] : w.events) {
            outcomes.insert(outcome);
        }
    }
    out += "<table><thead><tr><th>Source</th>";
    for (const auto& outcome : outcomes) {
        Append(out, {"<th>", EscapeHtml(outcome), "</th>"});
    }
    out += "<th>Bytes</th><th>Rejected requests</th></tr></thead><tbody>\n";
    for (const auto& w : webhooks) {
        out += "<tr><td>";
        out += w.source.empty() ? "<span class=\"none\">(no such source)</span>"
                                : EscapeHtml(w.source);
        out += "</td>";
        for (const auto& outcome : outcomes) {
            const auto it = w.events.find(outcome);
            Append(
                out,
                {"<td class=\"n\">", it != w.events.end() ? FormatCount(it->second) : "0", "</td>"}
            );
        }
        Append(out, {"<td class=\"n\">", FormatCount(w.bytes), "</td><td>"});
        bool first = true;
        for (const auto& [reason, n] : w.rejected) {
            Append(out, {first ? "" : ", ", EscapeHtml(reason), ": ", FormatCount(n)});
            first = false;
        }
        out += first ? "-</td></tr>\n" : "</td></tr>\n";
    }
    out += "</tbody></table></section>\n";
}

}  // namespace

std::string EscapeHtml(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::vector<WebhookIntake> ReadWebhookIntake(std::string_view exposition) {
    std::map<std::string, WebhookIntake> by_source;
    std::size_t from = 0;
    while (from < exposition.size()) {
        const auto nl = exposition.find('\n', from);
        const auto line = exposition.substr(from, nl == std::string_view::npos ? nl : nl - from);
        from = nl == std::string_view::npos ? exposition.size() : nl + 1;
        const auto sample = ParseSample(line);
        if (!sample) {
            continue;
        }
        const auto label = [&sample](const char* key) {
            const auto it = sample->labels.find(key);
            return it != sample->labels.end() ? it->second : std::string();
        };
        const bool events = sample->name == "chatsync_webhook_events_total";
        const bool rejected = sample->name == "chatsync_webhook_requests_rejected_total";
        const bool bytes = sample->name == "chatsync_webhook_bytes_total";
        if (!events && !rejected && !bytes) {
            continue;
        }
        auto& intake = by_source[label("source")];
        intake.source = label("source");
        if (events) {
            intake.events[label("outcome")] += sample->value;
        } else if (rejected) {
            intake.rejected[label("reason")] += sample->value;
        } else {
            intake.bytes += sample->value;
        }
    }
    std::vector<WebhookIntake> out;
    out.reserve(by_source.size());
    for (auto& [source, intake] : by_source) {
        out.push_back(std::move(intake));
    }
    return out;
}

std::string RenderStatusPage(const StatusPageModel& model) {
    std::string out;
    out.reserve(8192);
    out +=
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
    if (model.refresh_seconds > 0) {
        Append(
            out,
            {"<meta http-equiv=\"refresh\" content=\"",
             std::to_string(model.refresh_seconds),
             "\">"}
        );
    }
    Append(out, {"<title>chatsync status</title><style>", kStyle, "</style></head>\n<body>\n"});
    RenderHeader(out, model);
    RenderReadiness(out, model);
    if (model.sources.empty()) {
        out += "<section><p class=\"meta\">No source is configured.</p></section>\n";
    }
    for (const auto& source : model.sources) {
        RenderSource(out, source, model.generated_at, !model.replica.empty());
    }
    RenderWebhooks(out, model.webhooks);
    out += "</body></html>\n";
    return out;
}

const std::string& StatusPageSecurityPolicy() {
    static const std::string kPolicy =
        "default-src 'none'; style-src 'sha256-" + Sha256Base64(kStyle) +
        "'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    return kPolicy;
}

}  // namespace chatsync::daemon
