#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/result.hpp"
#include "core/time.hpp"
#include "emulator/frame/options.hpp"
#include "emulator/generic/dataset.hpp"

/// @file
/// The moving listing: the generic dataset changes while a client pages through it, as a live
/// platform's data does, so that a client's continuity checks can be tested.

namespace chatsync::emulator {

/// One moving-listing setting, as given to POST /_admin/moving or --moving.
struct MovingSetting {
    bool enabled = true;
    std::int64_t every = 1;                  ///< A step before every `every`-th listing request.
    std::int64_t updates = 1;                ///< Records updated per step ("update").
    std::int64_t inserts = 0;                ///< Records added per step ("insert").
    std::int64_t deletes = 0;                ///< Records removed per step ("delete").
    std::uint64_t seed = 1;                  ///< Seeds the picks of the setting.
    std::optional<std::int64_t> stop_after;  ///< Steps after which the setting stops moving.
    /// "tokens": switches the generic tokens when given; not part of the moving itself.
    std::optional<GenericTokens> tokens;
    /// True when the object had no other field than "tokens": it then only switches tokens.
    bool tokens_only = false;
};

/// Parses a setting object. On failure the error (invalid_argument) has a message naming the
/// bad field; unknown fields are errors, to catch typos in tests.
Result<MovingSetting> ParseMoving(const boost::json::value& json);

/// Applies the setting in force to a dataset and counts what it did.
///
/// A step picks `update + delete` distinct records uniformly over every existing record
/// (std::mt19937_64 seeded with the setting's seed), updates the first `update` of them as
/// Dataset::Mutate does, removes the others as Dataset::Remove does, then adds `insert` records
/// as Dataset::Add does. The picks are random rather than spread so that some land in the part
/// of a listing a client has already read, and shift the rest of the listing back.
/// @par Thread Safety
/// Not synchronised; used from the serving thread only, like the dataset.
class MovingListing final {
public:
    /// Moving is off until a setting is put in force.
    MovingListing() { setting_.enabled = false; }

    /// Puts `setting` in force (or turns moving off when it is not enabled). Its request and
    /// step counts and its picks start afresh; the totals keep counting.
    void Set(const MovingSetting& setting);

    /// Turns moving off; the totals stay readable.
    void Disable() { setting_.enabled = false; }

    /// Called before a listing request is answered: counts it and applies a step when it is
    /// the `every`-th one and the setting has steps left. `now` stamps updated and added
    /// records (the dataset keeps its times increasing whatever `now` is).
    void BeforeListing(Dataset& dataset, SysTime now);

    /// The setting in force and the counters: `steps`, `updated`, `inserted`, `deleted` and
    /// `deleted_ids` are totals since start-up; `requests` and `setting_steps` count listing
    /// requests and steps under the setting in force.
    boost::json::object ToJson() const;

private:
    void Step(Dataset& dataset, SysTime now);

    MovingSetting setting_;
    std::mt19937_64 rng_;
    std::int64_t requests_ = 0;  ///< Listing requests seen under the setting in force.
    std::int64_t setting_steps_ = 0;
    std::int64_t steps_ = 0;
    std::int64_t updated_ = 0;
    std::int64_t inserted_ = 0;
    std::vector<std::int64_t> deleted_ids_;
};

}  // namespace chatsync::emulator
