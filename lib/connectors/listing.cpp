#include "connectors/listing.hpp"

#include <algorithm>
#include <functional>

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
        if (const auto* v = FindPath(record, key_paths[i]); v != nullptr) {
            key += ScalarText(*v);
        }
    }
    return key;
}

ListingGuard::ListingGuard(const PaginationSpec& spec, bool keyset)
    : spec_(spec)
    , keyset_(keyset) {}

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
        while (skip < keys.size() && std::find(tail.begin(), tail.end(), keys[skip]) != tail.end()) {
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

bool ListingGuard::Remember(std::uint64_t hash) {
    if (std::binary_search(seen_.begin(), seen_.end(), hash) ||
        std::find(seen_new_.begin(), seen_new_.end(), hash) != seen_new_.end()) {
        return false;
    }
    seen_new_.push_back(hash);
    if (seen_new_.size() >= kUnsortedKeys) {
        std::sort(seen_new_.begin(), seen_new_.end());
        const auto middle = seen_.insert(seen_.end(), seen_new_.begin(), seen_new_.end());
        std::inplace_merge(seen_.begin(), middle, seen_.end());
        seen_new_.clear();
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
    if (!keyset_ && spec_.kind != PaginationKind::kOffset) {
        const std::hash<std::string> hash;
        for (const auto& k : written) {
            if (!Remember(hash(k))) {
                ++again;
            }
        }
        reappeared_ += again;
    }
    auto& tail = boundary_.tail_keys;
    tail.insert(tail.end(), written.begin(), written.end());
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
    seen_new_.clear();
    reappeared_ = 0;
}

}  // namespace chatsync::connectors
