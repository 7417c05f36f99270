// The status page's rendering: every value escaped, the latch, hold and error shown, the
// policy's hash matching the page's style, and the webhook figures read from the metrics.

#include "daemon/status_page.hpp"

#include <array>
#include <string>

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "core/text.hpp"

namespace chatsync::daemon {
namespace {

using namespace std::chrono_literals;

/// The hostile text put in every field: each of & < > " ' must come out as a reference.
constexpr std::string_view kHostile = "<b>x\"y'z&</b>";
constexpr std::string_view kEscaped = "&lt;b&gt;x&quot;y&#39;z&amp;&lt;/b&gt;";

std::size_t Count(const std::string& text, std::string_view what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
        ++n;
    }
    return n;
}

PageTime At(int seconds) {
    return PageTime{} + std::chrono::hours(24 * 365 * 56) + std::chrono::seconds(seconds);
}

StatusPageModel Model() {
    StatusPageModel m;
    m.version = "1.2.3";
    m.started_at = At(0);
    m.generated_at = At(600);
    m.ready = true;
    m.ready_detail = "ok";
    return m;
}

TEST(EscapeHtml, ReplacesEveryCharacterThatMarkupGivesMeaning) {
    EXPECT_EQ(EscapeHtml(kHostile), kEscaped);
    EXPECT_EQ(EscapeHtml("plain text, 100%"), "plain text, 100%");
    EXPECT_EQ(EscapeHtml(""), "");
    EXPECT_EQ(EscapeHtml("&amp;"), "&amp;amp;");
}

TEST(StatusPage, EscapesEveryValueOfTheModel) {
    const std::string h(kHostile);
    auto m = Model();
    m.version = h;
    m.ready = false;
    m.ready_detail = h + "\n" + h;
    m.state_error = h;
    PageSource source{
        .name = h,
        .enabled = false,
        .resources = {PageResource{
            .name = h,
            .last_run_at = At(60),
            .outcome = h,
            .rows_written = 3,
            .rows_unchanged = 4,
            .cursor = h,
            .next_run_at = At(900),
            .last_error = h + " failed",
            .unfinished_run = h}},
        .latch = std::nullopt,
        .hold = PageHold{.resource = h, .reason = h, .until = At(1200)}};
    m.sources.push_back(source);
    source.hold.reset();
    source.latch = PageLatch{.reason = h + " latch", .set_at = At(30)};
    m.sources.push_back(source);
    m.webhooks.push_back(WebhookIntake{
        .source = h, .events = {{h, 2}}, .rejected = {{h, 1}}, .bytes = 10});
    const auto html = RenderStatusPage(m);
    EXPECT_EQ(html.find("<b>"), std::string::npos) << html;
    EXPECT_EQ(html.find(h), std::string::npos);
    EXPECT_EQ(html.find("<script"), std::string::npos);
    // version, 2 readiness lines, state error; per source: the name twice (attribute and
    // heading), resource, outcome, cursor, error, unfinished run; the hold's resource and
    // reason; the latch's reason and the name in its command; the webhook source, outcome
    // and reason. The second source's error holds its latch's reason only in part, so shows.
    EXPECT_EQ(Count(html, kEscaped), 4U + 2U * 7U + 2U + 2U + 3U) << html;
}

TEST(StatusPage, ShowsOutcomesLatchHoldAndErrors) {
    auto m = Model();
    m.sources.push_back(PageSource{
        .name = "alpha",
        .enabled = true,
        .resources =
            {PageResource{
                 .name = "users",
                 .last_run_at = At(540),
                 .outcome = "failed",
                 .rows_written = 12,
                 .rows_unchanged = 0,
                 .cursor = "2026-12-07T05:00:00Z",
                 .next_run_at = At(660),
                 .last_error = "HTTP 500: boom",
                 .unfinished_run = std::nullopt},
             PageResource{.name = "groups"}},
        .latch = std::nullopt,
        .hold = PageHold{.resource = "users", .reason = "HTTP 403", .until = At(900)}});
    m.sources.push_back(PageSource{
        .name = "beta",
        .enabled = true,
        .resources = {PageResource{
            .name = "chats",
            .last_run_at = At(100),
            .outcome = "latched",
            .rows_written = 0,
            .rows_unchanged = 0,
            .cursor = std::nullopt,
            .next_run_at = std::nullopt,
            .last_error = "latched: account suspended",
            .unfinished_run = std::nullopt}},
        .latch = PageLatch{.reason = "account suspended", .set_at = At(100)},
        .hold = std::nullopt});
    const auto html = RenderStatusPage(m);
    EXPECT_NE(html.find("<td class=\"outcome bad\">failed</td>"), std::string::npos) << html;
    EXPECT_NE(html.find("<td class=\"outcome none\">never run</td>"), std::string::npos);
    EXPECT_NE(html.find("<td class=\"outcome bad\">latched</td>"), std::string::npos);
    EXPECT_NE(
        html.find("last error: <span class=\"text\">HTTP 500: boom</span>"), std::string::npos
    );
    EXPECT_NE(html.find("2026-12-07T05:00:00Z"), std::string::npos);
    EXPECT_NE(html.find("(1m ago)"), std::string::npos) << html;
    EXPECT_NE(html.find("(in 1m)"), std::string::npos) << html;
    EXPECT_NE(html.find("Held until "), std::string::npos);
    EXPECT_NE(html.find(" after resource users was refused: "), std::string::npos);
    EXPECT_NE(html.find("<span class=\"text\">account suspended</span>"), std::string::npos);
    EXPECT_NE(html.find("chatsyncd breach clear --source beta"), std::string::npos);
    // The latching run's error is the latch's reason, said once, above the table.
    EXPECT_EQ(html.find("last error: <span class=\"text\">latched: account"), std::string::npos);
    EXPECT_NE(html.find("Readiness: <span class=\"ok\">ready</span>"), std::string::npos);
    for (const char* link : {"href=\"/metrics\"", "href=\"/healthz\"", "href=\"/readyz\""}) {
        EXPECT_NE(html.find(link), std::string::npos) << link;
    }
    EXPECT_NE(html.find("<meta http-equiv=\"refresh\" content=\"10\">"), std::string::npos);
    EXPECT_NE(html.find("No webhook received since the start."), std::string::npos);
}

TEST(StatusPage, NamesTheReplicaThatRanEachResourceOnlyWhenRunningAsOne) {
    auto m = Model();
    m.sources.push_back(PageSource{
        .name = "alpha",
        .enabled = true,
        .resources =
            {PageResource{
                 .name = "users",
                 .last_run_at = At(540),
                 .outcome = "success",
                 .next_run_at = At(660),
                 .replica = "chatsync-<1>"},
             PageResource{.name = "groups", .replica = "never-shown"}},
        .latch = std::nullopt,
        .hold = std::nullopt});
    const auto alone = RenderStatusPage(m);
    EXPECT_EQ(alone.find("chatsync-"), std::string::npos) << alone;
    m.replica = "chatsync-<0>";
    const auto shared = RenderStatusPage(m);
    EXPECT_NE(shared.find(" &middot; replica chatsync-&lt;0&gt;"), std::string::npos) << shared;
    EXPECT_NE(
        shared.find(" on <span class=\"replica\">chatsync-&lt;1&gt;</span>"), std::string::npos
    );
    // A resource that never ran has no replica to name.
    EXPECT_EQ(shared.find("never-shown"), std::string::npos);
}

TEST(StatusPage, PolicyAllowsOnlyThePagesOwnStyle) {
    const auto html = RenderStatusPage(Model());
    const auto open = html.find("<style>");
    const auto close = html.find("</style>");
    ASSERT_NE(open, std::string::npos);
    ASSERT_NE(close, std::string::npos);
    EXPECT_EQ(Count(html, "<style"), 1U);
    const auto style = html.substr(open + 7, close - open - 7);
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    ASSERT_EQ(
        EVP_Digest(style.data(), style.size(), digest.data(), &size, EVP_sha256(), nullptr), 1
    );
    const auto hash =
        Base64Encode(std::string_view(reinterpret_cast<const char*>(digest.data()), size));
    const auto& policy = StatusPageSecurityPolicy();
    EXPECT_NE(policy.find("default-src 'none'"), std::string::npos) << policy;
    EXPECT_NE(policy.find("style-src 'sha256-" + hash + "'"), std::string::npos) << policy;
    EXPECT_EQ(policy.find("unsafe"), std::string::npos) << policy;
    EXPECT_EQ(policy.find("script-src"), std::string::npos) << policy;
    EXPECT_EQ(html.find("style=\""), std::string::npos) << "inline style attributes are refused";
}

TEST(StatusPage, ReadsWebhookIntakeFromTheMetrics) {
    const std::string exposition = R"(# HELP chatsync_webhook_events_total Webhook bodies.
# TYPE chatsync_webhook_events_total counter
chatsync_webhook_events_total{event="chat_accepted",outcome="stored",source="jivo"} 5
chatsync_webhook_events_total{event="other",outcome="stored",source="jivo"} 2
chatsync_webhook_events_total{event="chat_finished",outcome="duplicate",source="jivo"} 1
chatsync_webhook_events_total{event="x",outcome="stored",source="a \"quoted\\ name"} 1.5
chatsync_webhook_bytes_total{source="jivo"} 2048
chatsync_webhook_requests_rejected_total{reason="not_found",source=""} 3
chatsync_webhook_requests_rejected_total{reason="too_large",source="jivo"} 1
chatsync_rows_written_total{resource="r",source="jivo"} 99
chatsync_webhook_ack_seconds_bucket{source="jivo",le="0.1"} 8
)";
    const auto intake = ReadWebhookIntake(exposition);
    ASSERT_EQ(intake.size(), 3U);
    EXPECT_EQ(intake[0].source, "");
    EXPECT_EQ(intake[0].rejected.at("not_found"), 3);
    EXPECT_TRUE(intake[0].events.empty());
    EXPECT_EQ(intake[1].source, "a \"quoted\\ name");
    EXPECT_EQ(intake[1].events.at("stored"), 1.5);
    EXPECT_EQ(intake[2].source, "jivo");
    EXPECT_EQ(intake[2].events.at("stored"), 7);
    EXPECT_EQ(intake[2].events.at("duplicate"), 1);
    EXPECT_EQ(intake[2].rejected.at("too_large"), 1);
    EXPECT_EQ(intake[2].bytes, 2048);

    auto m = Model();
    m.webhooks = intake;
    const auto html = RenderStatusPage(m);
    EXPECT_NE(html.find("<th>duplicate</th><th>stored</th>"), std::string::npos) << html;
    EXPECT_NE(html.find("(no such source)"), std::string::npos);
    EXPECT_NE(html.find("a &quot;quoted\\ name"), std::string::npos);
    EXPECT_NE(html.find("<td class=\"n\">1.5</td>"), std::string::npos);
    EXPECT_NE(html.find("too_large: 1"), std::string::npos);
    EXPECT_TRUE(ReadWebhookIntake("").empty());
    EXPECT_TRUE(ReadWebhookIntake("chatsync_webhook_events_total{source=\"x\" 1\n").empty());
}

}  // namespace
}  // namespace chatsync::daemon
