// End-to-end: the status page at the admin listener's /, loaded in headless Chromium (Debian's
// `chromium`, from scripts/packages.sh's test group), with one source whose resource fails
// with markup in its error message, one latched source and one held source.

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <signal.h>

#include "e2e/e2e_util.hpp"

namespace chatsync::test {
namespace {

/// The failing resource's message: the page must show it as text, and run none of it.
constexpr const char* kHostile = "upstream said <script>alert(1)</script> & gave up";
constexpr const char* kHostileInDom =
    "upstream said &lt;script&gt;alert(1)&lt;/script&gt; &amp; gave up";
constexpr const char* kLatchReason = "account suspended by the provider";
constexpr const char* kHoldReason = "no such account";

/// The generic API's bearer auth and a source of two resources: `items` syncs, `broken` is
/// answered 500 by the emulator and the rule makes that fatal with kHostile as its message.
std::string FailingSpec() {
    return std::string(
               "      name: status_failing\n"
               "      base_url: \"{{ config.base_url }}\"\n"
               "      params: {base_url: {required: true}, token: {required: true, secret: "
               "true}}\n"
               "      auth: {type: bearer, token: \"{{ config.token }}\"}\n"
               "      resources:\n"
               "        - name: items\n"
               "          request: {path: /generic/page, query: {per_page: \"100\"}}\n"
               "          records: data\n"
               "          primary_key: [id]\n"
               "          pagination: {type: page_number, page_size: 100, total_pages_path: "
               "total_pages}\n"
               "        - name: broken\n"
               "          request: {path: /generic/offset}\n"
               "          records: items\n"
               "          primary_key: [id]\n"
               "          error_rules:\n"
               "            - when: {status: [500]}\n"
               "              action: fatal\n"
               "              message: \""
           ) +
           kHostile + "\"\n";
}

/// Another source, whose only resource is answered `status` on `path`, which its rule makes
/// `action` (latch or hold) with `message`.
std::string RefusedSource(
    const std::string& name,
    const std::string& base_url,
    const std::string& path,
    int status,
    const std::string& action,
    const std::string& message
) {
    return "  - name: " + name +
           "\n"
           "    connector:\n"
           "      name: status_" +
           action +
           "\n"
           "      base_url: \"{{ config.base_url }}\"\n"
           "      params: {base_url: {required: true}, token: {required: true, secret: true}}\n"
           "      auth: {type: bearer, token: \"{{ config.token }}\"}\n"
           "      resources:\n"
           "        - name: chats\n"
           "          request: {path: " +
           path +
           "}\n"
           "          records: results\n"
           "          primary_key: [id]\n"
           "          error_rules:\n"
           "            - when: {status: [" +
           std::to_string(status) +
           "]}\n"
           "              action: " +
           action +
           "\n"
           "              message: \"" +
           message +
           "\"\n"
           "    config:\n"
           "      base_url: " +
           base_url + "\n      token: " + kToken + "\n";
}

/// Where Debian's chromium is, or "" when it is not installed.
std::string ChromiumPath() {
    const auto found = RunProcess({"/bin/sh", "-c", "command -v chromium"});
    auto path = found.output.substr(0, found.output.find('\n'));
    return found.exit_code == 0 ? path : std::string();
}

/// Runs headless Chromium on `url` with `args` added, in a profile of its own under `dir`.
/// timeout(1) runs it in a process group of its own and kills the whole group (Chromium's
/// renderer and helper processes too) when it hangs.
Completed Chromium(
    const std::string& chromium,
    const std::string& dir,
    std::vector<std::string> args,
    const std::string& url
) {
    std::vector<std::string> argv{
        "/usr/bin/timeout",
        "-k",
        "5s",
        "60s",
        chromium,
        "--headless=new",
        // Needed as root (the CI container); the page is our own, on loopback.
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-extensions",
        "--user-data-dir=" + dir + "/chromium-profile",
        // The page's console, CSP reports included, goes to stderr.
        "--enable-logging=stderr",
        "--v=0"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(url);
    return RunProcess(
        std::move(argv),
        {{"HOME", dir}, {"XDG_CONFIG_HOME", dir + "/config"}, {"XDG_CACHE_HOME", dir + "/cache"}},
        std::chrono::seconds(90)
    );
}

std::size_t Count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
        ++n;
    }
    return n;
}

TEST(StatusPage, ShowsOutcomesTheLatchAndErrorsAsTextInChromium) {
    CHATSYNC_REQUIRE_DSN(dsn);
    const auto chromium = ChromiumPath();
    if (chromium.empty()) {
        if (PgRequired()) {
            FAIL() << "chromium is not installed (scripts/packages.sh install test)";
        }
        GTEST_SKIP() << "chromium is not installed";
    }
    Emulator emu(
        {"--records",
         "30",
         "--auth",
         "bearer",
         "--token",
         kToken,
         "--fault",
         R"({"kind":500,"count":-1,"path":"/generic/offset"})",
         "--fault",
         R"({"kind":502,"count":-1,"path":"/generic/next"})",
         "--fault",
         R"({"kind":503,"count":-1,"path":"/generic/cursor"})"}
    );
    TempDir dir;
    const auto failing = UniqueName("page");
    const auto latched = UniqueName("page_latched");
    const auto held = UniqueName("page_held");
    const auto config = dir.Write(
        "c.yaml",
        E2eConfig(
            dsn,
            failing,
            emu.url(),
            dir.path(),
            RefusedSource(latched, emu.url(), "/generic/next", 502, "latch", kLatchReason) +
                RefusedSource(held, emu.url(), "/generic/cursor", 503, "hold", kHoldReason),
            "127.0.0.1:0",
            FailingSpec()
        )
    );
    auto daemon = StartChatsyncd({"-c", config, "run"}, dir.path() + "/daemon.log");
    const auto port = AdminPort(*daemon);
    ASSERT_NE(port, 0) << daemon->Output();
    const auto base = "http://127.0.0.1:" + std::to_string(port);

    // The first runs are over: items synced, broken failed, one source latched, one held.
    ASSERT_TRUE(WaitFor(
        [&] {
            const auto page = HttpCall("GET", base + "/").body;
            return page.find(">success</td>") != std::string::npos &&
                   page.find(">failed</td>") != std::string::npos &&
                   page.find("class=\"latch\"") != std::string::npos &&
                   page.find("class=\"hold\"") != std::string::npos;
        },
        std::chrono::seconds(60)
    )) << HttpCall("GET", base + "/").body
       << daemon->Output();
    const auto served = HttpCall("GET", base + "/");
    EXPECT_EQ(served.status, 200U);
    EXPECT_EQ(served.Header("Cache-Control").value_or(""), "no-store");
    EXPECT_NE(
        served.Header("Content-Security-Policy").value_or("").find("default-src 'none'"),
        std::string::npos
    );
    EXPECT_EQ(served.body.find(kToken), std::string::npos) << "the credential leaked";

    const auto dom = Chromium(chromium, dir.path(), {"--dump-dom"}, base + "/");
    ASSERT_EQ(dom.exit_code, 0) << dom.output;
    // The outcomes of both resources of the failing source, and the latched one's.
    EXPECT_NE(dom.output.find("<td class=\"outcome ok\">success</td>"), std::string::npos)
        << dom.output;
    EXPECT_NE(dom.output.find("<td class=\"outcome bad\">failed</td>"), std::string::npos)
        << dom.output;
    EXPECT_NE(dom.output.find("<td class=\"outcome bad\">latched</td>"), std::string::npos)
        << dom.output;
    EXPECT_NE(dom.output.find("data-source=\"" + latched + "\""), std::string::npos);
    EXPECT_NE(dom.output.find("<p class=\"latch\">Latched since "), std::string::npos);
    EXPECT_NE(dom.output.find(kLatchReason), std::string::npos);
    EXPECT_NE(dom.output.find("chatsyncd breach clear --source " + latched), std::string::npos);
    // The hold lives in the process only: the page reads it from the source's runner.
    EXPECT_NE(dom.output.find("<p class=\"hold\">Held until "), std::string::npos);
    EXPECT_NE(dom.output.find(" after resource chats was refused: "), std::string::npos);
    EXPECT_NE(dom.output.find(kHoldReason), std::string::npos);
    // The error is text: escaped in the serialized DOM, and no script element came of it
    // (the page has none of its own).
    EXPECT_NE(dom.output.find(kHostileInDom), std::string::npos) << dom.output;
    EXPECT_EQ(dom.output.find(kHostile), std::string::npos) << dom.output;
    EXPECT_EQ(Count(dom.output, "<script"), 0U) << dom.output;
    // Chromium logs what the policy blocks ("... violates the following Content Security
    // Policy directive ..."): the page's own style must not be.
    EXPECT_EQ(dom.output.find("Content Security Policy"), std::string::npos)
        << "the policy blocked part of the page:\n"
        << dom.output;
    EXPECT_EQ(dom.output.find(kToken), std::string::npos);
    for (const char* link : {"href=\"/metrics\"", "href=\"/healthz\"", "href=\"/readyz\""}) {
        EXPECT_NE(dom.output.find(link), std::string::npos) << link;
    }

    // The README's picture: CHATSYNC_STATUS_PAGE_PNG=docs/status-page.png keeps it.
    const auto png = dir.path() + "/status-page.png";
    const auto shot = Chromium(
        chromium,
        dir.path(),
        {"--screenshot=" + png, "--window-size=1280,900", "--hide-scrollbars"},
        base + "/"
    );
    ASSERT_EQ(shot.exit_code, 0) << shot.output;
    ASSERT_TRUE(std::filesystem::exists(png)) << shot.output;
    EXPECT_GT(std::filesystem::file_size(png), 10000U);
    if (const char* keep = std::getenv("CHATSYNC_STATUS_PAGE_PNG"); keep != nullptr && *keep) {
        std::filesystem::copy_file(png, keep, std::filesystem::copy_options::overwrite_existing);
    }

    daemon->Signal(SIGTERM);
    EXPECT_EQ(daemon->Wait(std::chrono::seconds(15)), 0) << daemon->Output();
}

}  // namespace
}  // namespace chatsync::test
