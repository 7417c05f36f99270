#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <boost/json/fwd.hpp>

#include "connectors/checkpoint.hpp"
#include "connectors/pagination.hpp"
#include "connectors/spec.hpp"

/// @file
/// Continuity of a listing whose data moves while it is read. Records updated, inserted or
/// deleted between two page requests shift the records after them; a record that shifts back
/// across the boundary between a page already read and the next one would never be read. A
/// ListingGuard remembers where the last page ended and judges each page against it:
///
/// | pagination | how a shift is seen | what it costs |
/// | --- | --- | --- |
/// | offset | each page starts one record early; that record must be the last one read | one record
/// a page; on a shift, re-reads back to the last record read | | page number, next URL, cursor
/// token, link header | a lower total than the page before, or the last record read found inside
/// the page | on a shift, re-reads back to the last record read | | keyset (incremental.keyset) |
/// nothing can shift behind the restart point | the records sharing the last cursor value, read
/// again |
///
/// A resumed run first reads its last committed page again (offset: the overlapping record)
/// and proves its last record is still there before going on. A record that comes a second
/// time in one page-number or token listing moved while it was read, and the listing is then
/// not proven complete (see Reappeared).

namespace chatsync::connectors {

/// A record's identity in its listing: the primary-key values, serialized and joined.
std::string RecordKey(const boost::json::value& record, const std::vector<std::string>& key_paths);

/// How a page read at a position fits the listing.
struct PageVerdict {
    enum class Kind {
        /// Write the page, less its first `skip` records (read before).
        kAccept,
        /// The listing moved: nothing of this page is written; read `position` next.
        kStepBack,
        /// The last records read cannot be found: read the listing again from its first page.
        kRestart,
    };

    Kind kind = Kind::kAccept;
    std::size_t skip = 0;
    PagePosition position;
    /// For the log: what was seen.
    std::string reason;
};

/// Judges each page of one listing against the boundary of the page before. Pure: it makes
/// no request and keeps no record, only keys.
class ListingGuard final {
public:
    /// Steps back at most this many pages looking for the last record read, then restarts.
    static constexpr int kMaxStepsBack = 8;
    /// Keys kept from the end of the last page, to find the boundary again when its very
    /// last record itself moved or was deleted.
    static constexpr std::size_t kTailKeys = 5;
    /// Records of one listing whose keys are remembered (8 bytes each), to see one come twice;
    /// past this many, memory stays bounded and a record read twice goes unseen.
    static constexpr std::size_t kMaxTrackedKeys = std::size_t{1} << 18U;

    explicit ListingGuard(const PaginationSpec& spec, bool keyset = false);

    /// Continues a listing from a checkpoint: `next` is where it stood. Returns the position to
    /// read first: the committed page again for page-number and token listings (to prove the
    /// boundary), `next` itself for offset listings (its overlap proves it) and keyset ones.
    PagePosition Resume(const Boundary& boundary, const PagePosition& next);

    /// Judges the page read at `at`, whose records have these keys, and the total it reported.
    PageVerdict Check(
        const PagePosition& at,
        std::span<const std::string> keys,
        std::optional<std::int64_t> total
    );

    /// Records that the page read at `at` was written, less its first `skip` records. Returns
    /// how many of the written records this listing had read before in another page.
    std::size_t Accept(
        const PagePosition& at,
        std::span<const std::string> keys,
        std::size_t skip,
        std::optional<std::int64_t> total
    );

    /// The position after a page, as the pagination says, adjusted for the guard: the overlap
    /// of offset listings, the restart point of keyset ones. `last_cursor` is the canonical
    /// cursor of the page's last record (keyset only), `first_cursor` of its first.
    std::optional<PagePosition> Follow(
        std::optional<PagePosition> next,
        std::size_t record_count,
        const std::optional<std::string>& first_cursor,
        const std::optional<std::string>& last_cursor
    ) const;

    /// Forgets the listing: it is read again from its first page.
    void Restart();

    const Boundary& boundary() const noexcept { return boundary_; }

    /// Whether a record of this listing came a second time in another page: it moved while
    /// the listing was read, and records after its old place may have shifted unseen.
    bool Reappeared() const noexcept { return reappeared_ > 0; }

    /// Whether the listing, read to its end, holds fewer distinct records than the total its
    /// last page reported: a record moved from ahead of the reader to the end, and one behind
    /// it shifted back past the reader unseen (or the listing was resumed, and what came
    /// before is not counted). Only for listings that track keys and report a total.
    bool ShortOfTotal() const noexcept;

    /// False once the listing has outgrown kMaxTrackedKeys.
    bool Tracking() const noexcept { return tracking_; }

    /// Whether proving this listing complete rests on remembering every key it read (page-number
    /// and token listings; offset and keyset listings prove each boundary instead). Those keys
    /// live only as long as the run: a resumed run cannot see a record it read before come again.
    bool ProvesByKeys() const noexcept { return !keyset_ && spec_.kind != PaginationKind::kOffset; }

private:
    PageVerdict StepBack(const PagePosition& from, std::string reason);
    /// Where the last boundary key is in `keys` (the latest one found), if anywhere.
    std::optional<std::size_t> FindBoundary(std::span<const std::string> keys) const;
    bool Remember(std::uint64_t hash);

    PaginationSpec spec_;
    bool keyset_;
    Boundary boundary_;
    /// Positions of recently written pages, oldest first (where a token listing steps back to).
    std::deque<PagePosition> recent_;
    /// While looking for the boundary: how many pages back, and where the search began.
    int steps_ = 0;
    bool searching_ = false;
    /// Hashes of every key written in this listing: a sorted list, and the latest ones in a
    /// small table until they are merged into it.
    std::vector<std::uint64_t> seen_;
    std::vector<std::uint64_t> recent_keys_;
    std::size_t recent_count_ = 0;
    std::size_t reappeared_ = 0;
    bool tracking_ = true;
};

}  // namespace chatsync::connectors
