#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>

#include "emulator/frame/mode.hpp"
#include "emulator/generic/auth.hpp"
#include "emulator/generic/dataset.hpp"
#include "emulator/generic/moving.hpp"

/// @file
/// The generic paginated API: one dataset served through every common pagination style.

namespace chatsync::emulator {

/// Routes under /generic (and /key/<token>/generic with --auth path), POST /auth/login with
/// --auth login, and the dataset admin routes (/_admin/dataset, mutate, add, delete,
/// revoke-tokens, moving).
class GenericMode final : public Mode {
public:
    /// Throws std::invalid_argument for a bad --moving.
    explicit GenericMode(const ModeContext& context);

    std::string_view Name() const override { return "generic"; }

    void AddRoutes(Router& router) override;
    void AddStats(boost::json::object& stats) const override;

    Dataset& DatasetForTest() { return dataset_; }

private:
    using Records = std::span<const Record* const>;

    /// Wraps a data route with the auth check (401 `{"error":"unauthorized"}`).
    Handler Guard(Handler handler);
    /// Wraps a listing route so that the moving listing may step before it answers.
    Handler MoveFirst(Handler handler);
    /// Puts a moving setting in force; its `tokens`, when given, switches the token kind.
    void ApplyMoving(const MovingSetting& setting);

    Response Page(const Request& request, const PathParams& params);
    Response Offset(const Request& request, const PathParams& params);
    Response Next(const Request& request, const PathParams& params);
    Response Cursor(const Request& request, const PathParams& params);
    Response CursorHeader(const Request& request, const PathParams& params);
    Response Link(const Request& request, const PathParams& params);
    Response Single(const Request& request, const PathParams& params);
    Response Comments(const Request& request, const PathParams& params);
    Response Search(const Request& request, const PathParams& params);
    Response Login(const Request& request, const PathParams& params);

    Response AdminDataset(const Request& request, const PathParams& params);
    Response AdminMutate(const Request& request, const PathParams& params);
    Response AdminAdd(const Request& request, const PathParams& params);
    Response AdminRawFields(const Request& request, const PathParams& params);
    Response AdminDelete(const Request& request, const PathParams& params);
    Response AdminRevokeTokens(const Request& request, const PathParams& params);
    Response AdminMoving(const Request& request, const PathParams& params);
    Response AdminSetMoving(const Request& request, const PathParams& params);
    Response AdminStopMoving(const Request& request, const PathParams& params);

    /// The page-number body shared by GET /generic/page and POST /generic/search.
    Response PageBody(Records records, std::int64_t page, std::int64_t per_page) const;
    /// Records after the request's cursor (400 for a bad one), or all of `records`. Takes
    /// tokens of either kind.
    Records AfterCursor(const Request& request, Records records) const;
    /// The continuation token after `page`, a part of `listing`, of the kind in force.
    std::string NextToken(Records listing, Records page) const;
    std::int64_t PageSize(const Request& request, std::string_view name) const;

    const Options& options_;
    Dataset dataset_;
    GenericAuth auth_;
    GenericTokens tokens_;
    MovingListing moving_;
};

std::unique_ptr<Mode> CreateGenericMode(const ModeContext& context);

}  // namespace chatsync::emulator
