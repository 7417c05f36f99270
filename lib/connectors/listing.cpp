#include "connectors/listing.hpp"

#include <algorithm>
#include <functional>
#include <utility>

#include <boost/json/value.hpp>

#include "core/json.hpp"

namespace chatsync::connectors {
namespace {

/// Keys that arrive before they are merged into the sorted list.
constexpr std::size_t kUnsortedKeys = 4096;

bool IsFirstPage(const PaginationSpec& spec, const PagePosition& at) {
    return at.number == spec.start_page && at.offset == 0 && at.url.empty() && at.token.empty();
}

bool ByToken(PaginationKind kind) {
    return kind == PaginationKind::kNextUrl || kind == PaginationKind::kCursor ||
           kind == PaginationKind::kLinkHeader;
}

}  // namespace

std::string RecordKey(const boost::json::value& record, const std::vector<std::string>& key_paths) {
    std::string key;
    for (std::size_t i = 0; i < key_paths.size(); ++i) {
        if (i > 0) {
            key.push_back('\x1f');
        }
        const auto* v = FindPath(record, key_paths[i]);
        if (v == nullptr) {
            continue;
        }
        // Most keys are integers: written directly, as ScalarText would write them.
        if (v->is_int64()) {
            key += std::to_string(v->get_int64());
        } else {
            key += ScalarText(*v);
        }
    }
    return key;
}

ListingGuard::ListingGuard(const PaginationSpec& spec, bool keyset)
    : spec_(spec)
    , keyset_(keyset) {
    seen_.reserve(kUnsortedKeys);
}

PagePosition ListingGuard::Resume(const Boundary& boundary, const PagePosition& next) {
    boundary_ = boundary;
    if (keyset_ || spec_.kind == PaginationKind::kOffset || !boundary.page ||
        boundary.tail_keys.empty()) {
        return next;
    }
    // The committed page is read again; its last records must still be there.
    recent_.assign(1, *boundary.page);
    searching_ = true;
    steps_ = 1;
    return *boundary.page;
}

std::optional<std::size_t> ListingGuard::FindBoundary(std::span<const std::string> keys) const {
    for (auto t = boundary_.tail_keys.rbegin(); t != boundary_.tail_keys.rend(); ++t) {
        const auto it = std::find(keys.begin(), keys.end(), *t);
        if (it != keys.end()) {
            return static_cast<std::size_t>(it - keys.begin());
        }
    }
    return std::nullopt;
}

PageVerdict ListingGuard::StepBack(const PagePosition& from, std::string reason) {
    if (!searching_) {
        searching_ = true;
        steps_ = 0;
    }
    ++steps_;
    PageVerdict v;
    v.kind = PageVerdict::Kind::kStepBack;
    v.reason = std::move(reason);
    if (steps_ > kMaxStepsBack) {
        v.kind = PageVerdict::Kind::kRestart;
        return v;
    }
    PagePosition back = from;
    back.overlap = 0;
    switch (spec_.kind) {
        case PaginationKind::kPageNumber: {
            const auto last = boundary_.page ? boundary_.page->number : from.number - 1;
            back.number = last - (steps_ - 1);
            if (back.number < spec_.start_page) {
                v.kind = PageVerdict::Kind::kRestart;
            }
            break;
        }
        case PaginationKind::kOffset: {
            // The window just before where the last record read was expected.
            if (from.offset == 0) {
                v.kind = PageVerdict::Kind::kRestart;
            }
            back.offset = std::max<std::int64_t>(0, from.offset - spec_.page_size);
            break;
        }
        default: {
            if (static_cast<std::size_t>(steps_) > recent_.size()) {
                v.kind = PageVerdict::Kind::kRestart;
            } else {
                back = recent_[recent_.size() - static_cast<std::size_t>(steps_)];
            }
            break;
        }
    }
    if (v.kind == PageVerdict::Kind::kRestart) {
        v.reason += "; the last records read are not found";
    }
    v.position = back;
    return v;
}

PageVerdict ListingGuard::Check(
    const PagePosition& at,
    std::span<const std::string> keys,
    std::optional<std::int64_t> total
) {
    const auto& tail = boundary_.tail_keys;
    if (searching_) {
        if (const auto found = FindBoundary(keys)) {
            searching_ = false;
            steps_ = 0;
            return {PageVerdict::Kind::kAccept, *found + 1, {}, {}};
        }
        return StepBack(at, "the last records read are not on the page before either");
    }
    if (tail.empty()) {
        return {};
    }
    if (keyset_ && !at.keyset.empty() && IsFirstPage(spec_, at)) {
        // A restart at the last cursor value: the records that share it and were read come
        // first; nothing before it can move past the reader.
        std::size_t skip = 0;
        while (skip < keys.size() && std::find(tail.begin(), tail.end(), keys[skip]) != tail.end()
        ) {
            ++skip;
        }
        return {PageVerdict::Kind::kAccept, skip, {}, {}};
    }
    if (spec_.kind == PaginationKind::kOffset && at.overlap > 0) {
        if (!keys.empty() && keys.front() == tail.back()) {
            return {PageVerdict::Kind::kAccept, 1, {}, {}};
        }
        if (const auto found = FindBoundary(keys)) {
            return {PageVerdict::Kind::kAccept, *found + 1, {}, "the listing shifted forward"};
        }
        return StepBack(at, "the record before the page is no longer the last one read");
    }
    if (spec_.kind == PaginationKind::kOffset || keyset_) {
        return {};
    }
    if (total && boundary_.total && *total < *boundary_.total) {
        return StepBack(
            at,
            "the total fell from " + std::to_string(*boundary_.total) + " to " +
                std::to_string(*total)
        );
    }
    if (const auto found = FindBoundary(keys)) {
        return {PageVerdict::Kind::kAccept, *found + 1, {}, "the listing shifted forward"};
    }
    return {};
}

bool ListingGuard::ShortOfTotal() const noexcept {
    if (!tracking_ || !ProvesByKeys() || !boundary_.total) {
        return false;
    }
    const auto distinct = static_cast<std::int64_t>(seen_.size() + recent_count_);
    return distinct < *boundary_.total;
}

bool ListingGuard::Remember(std::uint64_t hash) {
    // 0 marks a free slot of the table of recent keys.
    hash = hash == 0 ? 1 : hash;
    if (std::binary_search(seen_.begin(), seen_.end(), hash)) {
        return false;
    }
    // Recent keys: an open-addressing table twice the size of what it holds before a merge.
    if (recent_keys_.empty()) {
        recent_keys_.assign(2 * kUnsortedKeys, 0);
    }
    const std::size_t mask = recent_keys_.size() - 1;
    std::size_t slot = hash & mask;
    while (recent_keys_[slot] != 0) {
        if (recent_keys_[slot] == hash) {
            return false;
        }
        slot = (slot + 1) & mask;
    }
    if (seen_.size() + recent_count_ >= kMaxTrackedKeys) {
        tracking_ = false;
        return true;
    }
    recent_keys_[slot] = hash;
    if (++recent_count_ >= kUnsortedKeys) {
        // Merged from the back, in place: no second copy of the list, however long.
        std::vector<std::uint64_t> added;
        added.reserve(recent_count_);
        for (auto& k : recent_keys_) {
            if (k != 0) {
                added.push_back(std::exchange(k, 0));
            }
        }
        recent_count_ = 0;
        std::sort(added.begin(), added.end());
        auto from = seen_.size();
        seen_.resize(seen_.size() + added.size());
        auto to = seen_.size();
        auto add = added.size();
        while (add > 0) {
            if (from > 0 && seen_[from - 1] > added[add - 1]) {
                seen_[--to] = seen_[--from];
            } else {
                seen_[--to] = added[--add];
            }
        }
    }
    return true;
}

std::size_t ListingGuard::Accept(
    const PagePosition& at,
    std::span<const std::string> keys,
    std::size_t skip,
    std::optional<std::int64_t> total
) {
    const auto written = keys.subspan(std::min(skip, keys.size()));
    std::size_t again = 0;
    // Only page-number and token listings learn from a record read twice; offset listings
    // prove every boundary, and keyset ones read records again on purpose.
    if (tracking_ && ProvesByKeys()) {
        const std::hash<std::string> hash;
        for (const auto& k : written) {
            if (!Remember(hash(k))) {
                ++again;
            }
        }
        reappeared_ += again;
    }
    auto& tail = boundary_.tail_keys;
    const auto last = written.size() > kTailKeys ? written.last(kTailKeys) : written;
    tail.insert(tail.end(), last.begin(), last.end());
    if (tail.size() > kTailKeys) {
        tail.erase(tail.begin(), tail.end() - static_cast<std::ptrdiff_t>(kTailKeys));
    }
    boundary_.page = at;
    boundary_.total = total;
    if (ByToken(spec_.kind)) {
        recent_.push_back(at);
        if (recent_.size() > static_cast<std::size_t>(kMaxStepsBack)) {
            recent_.pop_front();
        }
    }
    return again;
}

std::optional<PagePosition> ListingGuard::Follow(
    std::optional<PagePosition> next,
    std::size_t record_count,
    const std::optional<std::string>& first_cursor,
    const std::optional<std::string>& last_cursor
) const {
    if (!next) {
        return next;
    }
    if (spec_.kind == PaginationKind::kOffset) {
        // A page that brought nothing past its overlap ends the listing.
        if (next->overlap > 0 && static_cast<std::int64_t>(record_count) <= next->overlap) {
            return std::nullopt;
        }
        next->overlap = next->offset > 0 ? 1 : 0;
        next->offset -= next->overlap;
    }
    // Restart the listing at the last value read, unless the whole page shares the value it
    // started from: more records share it than a page holds, so page on within it.
    if (keyset_ && last_cursor && !(*last_cursor == next->keyset && first_cursor == last_cursor)) {
        PagePosition restart;
        restart.number = spec_.start_page;
        restart.pages = next->pages;
        restart.keyset = *last_cursor;
        return restart;
    }
    return next;
}

void ListingGuard::Restart() {
    boundary_ = Boundary{};
    recent_.clear();
    searching_ = false;
    steps_ = 0;
    seen_.clear();
    recent_keys_.clear();
    recent_count_ = 0;
    reappeared_ = 0;
    tracking_ = true;
}

}  // namespace chatsync::connectors
