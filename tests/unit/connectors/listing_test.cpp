#include "connectors/listing.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace chatsync::connectors {
namespace {

using Kind = PageVerdict::Kind;

PaginationSpec Spec(PaginationKind kind) {
    PaginationSpec s;
    s.kind = kind;
    s.page_size = 4;
    s.start_page = 1;
    return s;
}

/// Keys "k<from>" .. "k<to - 1>".
std::vector<std::string> Keys(int from, int to) {
    std::vector<std::string> out;
    for (int i = from; i < to; ++i) {
        out.push_back("k" + std::to_string(i));
    }
    return out;
}

PagePosition Page(std::int64_t number) {
    PagePosition p;
    p.number = number;
    p.pages = number - 1;
    return p;
}

PagePosition Offset(std::int64_t offset, std::int64_t overlap) {
    PagePosition p;
    p.offset = offset;
    p.overlap = overlap;
    return p;
}

TEST(RecordKey, JoinsTheKeyFieldsAsText) {
    const auto record = boost::json::parse(R"({"id":7,"org":{"slug":"acme"},"n":"x"})");
    EXPECT_EQ(RecordKey(record, {"id"}), "7");
    EXPECT_EQ(
        RecordKey(record, {"org.slug", "id"}),
        "acme\x1f"
        "7"
    );
}

TEST(ListingGuard, AnOffsetListingOverlapsOneRecordAndSkipsIt) {
    ListingGuard guard(Spec(PaginationKind::kOffset));
    const auto first = Keys(0, 4);
    ASSERT_EQ(guard.Check(Offset(0, 0), first, std::nullopt).kind, Kind::kAccept);
    guard.Accept(Offset(0, 0), first, 0, std::nullopt);
    // The pagination says offset 4; the guard asks one record early.
    PagePosition next = Offset(4, 0);
    const auto followed = guard.Follow(next, 4, std::nullopt, std::nullopt);
    ASSERT_TRUE(followed);
    EXPECT_EQ(followed->offset, 3);
    EXPECT_EQ(followed->overlap, 1);

    const auto page = Keys(3, 7);
    const auto verdict = guard.Check(*followed, page, std::nullopt);
    EXPECT_EQ(verdict.kind, Kind::kAccept);
    EXPECT_EQ(verdict.skip, 1U);
    EXPECT_TRUE(verdict.reason.empty());
}

TEST(ListingGuard, AnOffsetPageThatBringsOnlyItsOverlapEndsTheListing) {
    ListingGuard guard(Spec(PaginationKind::kOffset));
    PagePosition next = Offset(8, 1);
    EXPECT_FALSE(guard.Follow(next, 1, std::nullopt, std::nullopt));
}

TEST(ListingGuard, AShiftBackInAnOffsetListingStepsBackUntilTheLastRecordReadIsFound) {
    ListingGuard guard(Spec(PaginationKind::kOffset));
    guard.Accept(Offset(0, 0), Keys(0, 4), 0, std::nullopt);
    guard.Accept(Offset(3, 1), Keys(3, 8), 1, std::nullopt);  // read k0..k7
    // Two records before k7 were deleted: at offset 7 now stands k9, not k7.
    const auto moved = std::vector<std::string>{"k9", "k10", "k11", "k12"};
    const auto verdict = guard.Check(Offset(7, 1), moved, std::nullopt);
    ASSERT_EQ(verdict.kind, Kind::kStepBack) << verdict.reason;
    EXPECT_EQ(verdict.position.offset, 3);
    EXPECT_EQ(verdict.position.overlap, 0);
    // The window before holds k7 at index 2: k8 was never read and comes after it.
    const auto window = std::vector<std::string>{"k5", "k6", "k7", "k8"};
    const auto found = guard.Check(verdict.position, window, std::nullopt);
    EXPECT_EQ(found.kind, Kind::kAccept);
    EXPECT_EQ(found.skip, 3U);
}

TEST(ListingGuard, AnOffsetListingThatLostEveryTailRecordRestarts) {
    ListingGuard guard(Spec(PaginationKind::kOffset));
    guard.Accept(Offset(0, 0), Keys(0, 4), 0, std::nullopt);
    auto verdict = guard.Check(Offset(3, 1), Keys(20, 24), std::nullopt);
    ASSERT_EQ(verdict.kind, Kind::kStepBack);
    EXPECT_EQ(verdict.position.offset, 0);
    // Not in the first window either, and there is nothing before it.
    verdict = guard.Check(verdict.position, Keys(30, 34), std::nullopt);
    EXPECT_EQ(verdict.kind, Kind::kRestart);
}

TEST(ListingGuard, AFallingTotalMakesAPageListingReadTheLastPageAgain) {
    ListingGuard guard(Spec(PaginationKind::kPageNumber));
    guard.Accept(Page(1), Keys(0, 4), 0, 100);
    guard.Accept(Page(2), Keys(4, 8), 0, 100);
    // One record of the first pages was deleted: page 3 now starts at k9, and k8 sits on page 2.
    auto verdict = guard.Check(Page(3), Keys(9, 13), 99);
    ASSERT_EQ(verdict.kind, Kind::kStepBack) << verdict.reason;
    EXPECT_EQ(verdict.position.number, 2);
    EXPECT_NE(verdict.reason.find("100 to 99"), std::string::npos) << verdict.reason;
    const auto again = std::vector<std::string>{"k5", "k6", "k7", "k8"};
    verdict = guard.Check(Page(2), again, 99);
    EXPECT_EQ(verdict.kind, Kind::kAccept);
    EXPECT_EQ(verdict.skip, 3U);
}

TEST(ListingGuard, AnUnchangedPageListingCostsNothing) {
    ListingGuard guard(Spec(PaginationKind::kPageNumber));
    for (int page = 1; page <= 5; ++page) {
        const auto keys = Keys((page - 1) * 4, page * 4);
        const auto verdict = guard.Check(Page(page), keys, 20);
        ASSERT_EQ(verdict.kind, Kind::kAccept);
        EXPECT_EQ(verdict.skip, 0U);
        EXPECT_EQ(guard.Accept(Page(page), keys, 0, 20), 0U);
    }
    EXPECT_FALSE(guard.Reappeared());
}

TEST(ListingGuard, AResumedPageListingProvesItsLastPageFirst) {
    ListingGuard guard(Spec(PaginationKind::kPageNumber));
    Boundary b;
    b.tail_keys = {"k14", "k15"};
    b.page = Page(4);
    const auto first = guard.Resume(b, Page(5));
    EXPECT_EQ(first.number, 4);
    // Four records moved away from before page 4 while the daemon was down: page 4 now
    // holds k16..k19 and k15 is on page 3.
    auto verdict = guard.Check(first, Keys(16, 20), std::nullopt);
    ASSERT_EQ(verdict.kind, Kind::kStepBack);
    EXPECT_EQ(verdict.position.number, 3);
    verdict = guard.Check(verdict.position, Keys(12, 16), std::nullopt);
    EXPECT_EQ(verdict.kind, Kind::kAccept);
    EXPECT_EQ(verdict.skip, 4U);
}

TEST(ListingGuard, AResumeThatNeverFindsItsBoundaryRestarts) {
    ListingGuard guard(Spec(PaginationKind::kPageNumber));
    Boundary b;
    b.tail_keys = {"gone"};
    b.page = Page(30);
    auto at = guard.Resume(b, Page(31));
    PageVerdict verdict;
    int steps = 0;
    do {
        verdict = guard.Check(at, Keys(steps * 4, steps * 4 + 4), std::nullopt);
        at = verdict.position;
        ++steps;
    } while (verdict.kind == Kind::kStepBack);
    EXPECT_EQ(verdict.kind, Kind::kRestart);
    EXPECT_EQ(steps, ListingGuard::kMaxStepsBack);
}

TEST(ListingGuard, APageListingThatEndsShortOfItsTotalIsReported) {
    // k5, ahead of the reader, moved to the end while page 1 was read: k4 shifted back into
    // page 1 and page 2 starts at k6. The total stays 9; nothing comes twice.
    ListingGuard guard(Spec(PaginationKind::kPageNumber));
    guard.Accept(Page(1), Keys(0, 4), 0, 9);
    guard.Accept(Page(2), std::vector<std::string>{"k6", "k7", "k8", "k5"}, 0, 9);
    EXPECT_FALSE(guard.Reappeared());
    EXPECT_TRUE(guard.ShortOfTotal());

    ListingGuard whole(Spec(PaginationKind::kPageNumber));
    whole.Accept(Page(1), Keys(0, 4), 0, 8);
    whole.Accept(Page(2), Keys(4, 8), 0, 8);
    EXPECT_FALSE(whole.ShortOfTotal());

    ListingGuard no_total(Spec(PaginationKind::kPageNumber));
    no_total.Accept(Page(1), Keys(0, 4), 0, std::nullopt);
    EXPECT_FALSE(no_total.ShortOfTotal()) << "nothing to compare with";
}

TEST(ListingGuard, ARecordReadTwiceInAPageListingIsReported) {
    ListingGuard guard(Spec(PaginationKind::kPageNumber));
    guard.Accept(Page(1), Keys(0, 4), 0, std::nullopt);
    guard.Accept(Page(2), Keys(4, 8), 0, std::nullopt);
    // k1 was updated and moved to the end.
    EXPECT_EQ(
        guard.Accept(Page(3), std::vector<std::string>{"k9", "k10", "k1"}, 0, std::nullopt), 1U
    );
    EXPECT_TRUE(guard.Reappeared());
}

TEST(ListingGuard, ARecordReadTwiceIsSeenAcrossThousandsOfKeys) {
    ListingGuard guard(Spec(PaginationKind::kPageNumber));
    constexpr int kPage = 1000;
    for (int page = 1; page <= 20; ++page) {
        ASSERT_EQ(
            guard.Accept(Page(page), Keys((page - 1) * kPage, page * kPage), 0, std::nullopt), 0U
        );
    }
    EXPECT_EQ(
        guard.Accept(Page(21), std::vector<std::string>{"k20000", "k7", "k19999"}, 0, std::nullopt),
        2U
    );
    EXPECT_TRUE(guard.Tracking());
}

TEST(ListingGuard, PastItsBoundAListingNoLongerRemembersKeys) {
    ListingGuard guard(Spec(PaginationKind::kPageNumber));
    constexpr int kPage = 4096;
    const int pages = static_cast<int>(ListingGuard::kMaxTrackedKeys / kPage) + 1;
    for (int page = 1; page <= pages; ++page) {
        guard.Accept(Page(page), Keys((page - 1) * kPage, page * kPage), 0, std::nullopt);
    }
    EXPECT_FALSE(guard.Tracking());
    // Memory stays bounded; a record read twice now goes unseen.
    EXPECT_EQ(guard.Accept(Page(pages + 1), std::vector<std::string>{"k1"}, 0, std::nullopt), 0U);
    EXPECT_FALSE(guard.Reappeared());
}

TEST(ListingGuard, ATokenListingStepsBackThroughTheTokensItKept) {
    ListingGuard guard(Spec(PaginationKind::kCursor));
    PagePosition a;
    a.token = "A";
    PagePosition b;
    b.token = "B";
    guard.Accept(a, Keys(0, 4), 0, 10);
    guard.Accept(b, Keys(4, 8), 0, 10);
    PagePosition c;
    c.token = "C";
    auto verdict = guard.Check(c, Keys(9, 13), 9);
    ASSERT_EQ(verdict.kind, Kind::kStepBack);
    EXPECT_EQ(verdict.position.token, "B");
    verdict = guard.Check(verdict.position, Keys(20, 24), 9);
    ASSERT_EQ(verdict.kind, Kind::kStepBack);
    EXPECT_EQ(verdict.position.token, "A");
    verdict = guard.Check(verdict.position, Keys(30, 34), 9);
    EXPECT_EQ(verdict.kind, Kind::kRestart);
}

TEST(ListingGuard, AKeysetListingRestartsAtTheLastCursorAndSkipsWhatItRead) {
    ListingGuard guard(Spec(PaginationKind::kPageNumber), true);
    guard.Accept(Page(1), Keys(0, 4), 0, std::nullopt);
    PagePosition next = Page(2);
    const auto restart = guard.Follow(
        next, 4, std::string("2024-01-01T00:00:00Z"), std::string("2024-01-02T00:00:00Z")
    );
    ASSERT_TRUE(restart);
    EXPECT_EQ(restart->number, 1);
    EXPECT_EQ(restart->keyset, "2024-01-02T00:00:00Z");
    // The records that share the last value come first again.
    const auto verdict =
        guard.Check(*restart, std::vector<std::string>{"k3", "k4", "k5"}, std::nullopt);
    EXPECT_EQ(verdict.kind, Kind::kAccept);
    EXPECT_EQ(verdict.skip, 1U);
    EXPECT_FALSE(guard.Reappeared());
}

TEST(ListingGuard, AKeysetPageOfOneValuePagesOnWithinIt) {
    ListingGuard guard(Spec(PaginationKind::kPageNumber), true);
    PagePosition at = Page(1);
    at.keyset = "2024-01-02T00:00:00Z";
    PagePosition next = at;
    next.number = 2;
    const auto within = guard.Follow(
        next, 4, std::string("2024-01-02T00:00:00Z"), std::string("2024-01-02T00:00:00Z")
    );
    ASSERT_TRUE(within);
    EXPECT_EQ(within->number, 2);
    EXPECT_EQ(within->keyset, "2024-01-02T00:00:00Z");
}

}  // namespace
}  // namespace chatsync::connectors
