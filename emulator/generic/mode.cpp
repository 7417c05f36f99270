#include "emulator/generic/mode.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <stdexcept>

#include <boost/json/parse.hpp>

#include "core/text.hpp"
#include "emulator/frame/json_body.hpp"
#include "emulator/frame/json_writer.hpp"
#include "emulator/generic/pagination.hpp"

namespace chatsync::emulator {
namespace {

constexpr std::int64_t kDefaultPageSize = 100;

std::int64_t IntParam(const Request& request, std::string_view name, std::int64_t fallback) {
    const std::string* text = request.Param(name);
    if (text == nullptr || text->empty()) {
        return fallback;
    }
    std::int64_t value = 0;
    const auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc{} || ptr != text->data() + text->size()) {
        throw HttpError(400, std::string(name) + " must be an integer");
    }
    return value;
}

std::optional<SysTime> ParseSince(std::string_view text) {
    if (text.empty()) {
        return std::nullopt;
    }
    const auto since = ParseIso8601(text);
    if (!since) {
        // Strict on purpose: a client that forgets to percent-encode "+01:00" sends a space
        // here, and should learn it from a 400 rather than from silently wrong rows.
        throw HttpError(400, "updated_since must be an ISO-8601 date-time");
    }
    return since;
}

std::optional<SysTime> SinceParam(const Request& request) {
    const std::string* text = request.Param("updated_since");
    return text == nullptr ? std::nullopt : ParseSince(*text);
}

std::string JoinJson(std::span<const Record* const> records) {
    std::string out = "[";
    for (std::size_t i = 0; i < records.size(); ++i) {
        if (i > 0) {
            out.push_back(',');
        }
        out.append(records[i]->json);
    }
    out.push_back(']');
    return out;
}

/// "/generic" or "/key/<token>/generic", matching how the request arrived, so that URLs handed
/// back to the client stay in the form it was accepted in.
std::string BasePath(const PathParams& params) {
    const std::string* key = params.Find("api_key");
    return key == nullptr ? "/generic" : "/key/" + UrlEncode(*key) + "/generic";
}

using QueryParams = std::vector<std::pair<std::string, std::string>>;

std::string AbsoluteUrl(const Request& request, const std::string& path, const QueryParams& query) {
    std::string url = "http://" + request.Authority() + path;
    char separator = '?';
    for (const auto& [key, value] : query) {
        url.push_back(separator);
        url.append(UrlEncode(key)).append("=").append(UrlEncode(value));
        separator = '&';
    }
    return url;
}

/// The request's updated_since as sent, for URLs that must carry the same filter.
void KeepFilter(const Request& request, QueryParams& query) {
    const std::string* since = request.Param("updated_since");
    if (since != nullptr && !since->empty()) {
        query.emplace_back("updated_since", *since);
    }
}

std::vector<std::int64_t> BodyIds(const boost::json::object& body) {
    const auto* ids = body.if_contains("ids");
    if (ids == nullptr || !ids->is_array()) {
        throw HttpError(400, "ids must be an array of integers");
    }
    std::vector<std::int64_t> out;
    for (const auto& id : ids->get_array()) {
        if (!id.is_int64()) {
            throw HttpError(400, "ids must be an array of integers");
        }
        out.push_back(id.get_int64());
    }
    return out;
}

std::string IdsJson(std::string_view key, const std::vector<std::int64_t>& ids) {
    std::string out = "{";
    AppendJsonString(out, key);
    out.append(":[");
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (i > 0) {
            out.push_back(',');
        }
        AppendJsonInt(out, ids[i]);
    }
    out.append("]}");
    return out;
}

SysTime Now() {
    return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()
    );
}

}  // namespace

GenericMode::GenericMode(const ModeContext& context)
    : options_(context.options)
    , dataset_(Dataset::Options{
          .records = context.options.records,
          .seed = context.options.seed,
          .wide = context.options.wide_records})
    , auth_(context.options)
    , tokens_(context.options.generic_tokens) {
    if (options_.moving.empty()) {
        return;
    }
    boost::system::error_code ec;
    const auto json = boost::json::parse(options_.moving, ec);
    if (ec) {
        throw std::invalid_argument("--moving: not JSON: " + options_.moving);
    }
    const auto setting = ParseMoving(json);
    if (!setting) {
        throw std::invalid_argument("--moving: " + setting.error().message());
    }
    ApplyMoving(*setting);
}

std::unique_ptr<Mode> CreateGenericMode(const ModeContext& context) {
    return std::make_unique<GenericMode>(context);
}

Handler GenericMode::Guard(Handler handler) {
    return [this, handler = std::move(handler)](const Request& request, const PathParams& params) {
        if (!auth_.Allows(request, params.Find("api_key"))) {
            return ErrorResponse(401, "unauthorized");
        }
        return handler(request, params);
    };
}

Handler GenericMode::MoveFirst(Handler handler) {
    return [this, handler = std::move(handler)](const Request& request, const PathParams& params) {
        moving_.BeforeListing(dataset_, Now());
        return handler(request, params);
    };
}

void GenericMode::ApplyMoving(const MovingSetting& setting) {
    if (setting.tokens) {
        tokens_ = *setting.tokens;
    }
    if (!setting.tokens_only) {
        moving_.Set(setting);
    }
}

void GenericMode::AddRoutes(Router& router) {
    using Member = Response (GenericMode::*)(const Request&, const PathParams&);

    struct DataRoute {
        std::string_view method;
        std::string_view suffix;
        Member member;
        bool listing;  ///< A listing route: the moving listing counts it and may step first.
    };

    static constexpr std::array<DataRoute, 9> kDataRoutes{{
        {"GET", "/page", &GenericMode::Page, true},
        {"GET", "/offset", &GenericMode::Offset, true},
        {"GET", "/next", &GenericMode::Next, true},
        {"GET", "/cursor", &GenericMode::Cursor, true},
        {"GET", "/cursor-header", &GenericMode::CursorHeader, true},
        {"GET", "/link", &GenericMode::Link, true},
        {"GET", "/records/{id}", &GenericMode::Single, false},
        {"GET", "/records/{id}/comments", &GenericMode::Comments, false},
        {"POST", "/search", &GenericMode::Search, true},
    }};
    for (const auto& route : kDataRoutes) {
        // Moving comes inside the auth check: a refused request is not a listing request.
        const auto handler = [&] {
            return Guard(
                route.listing ? MoveFirst(BindRoute(this, route.member))
                              : BindRoute(this, route.member)
            );
        };
        router.Add(route.method, "/generic" + std::string(route.suffix), handler());
        // In path mode the plain form stays routed so that it answers 401, not 404.
        if (auth_.Mode() == AuthMode::kPath) {
            router.Add(
                route.method, "/key/{api_key}/generic" + std::string(route.suffix), handler()
            );
        }
    }
    if (auth_.Mode() == AuthMode::kLogin) {
        router.Add("POST", "/auth/login", BindRoute(this, &GenericMode::Login));
    }
    router.Add("GET", "/_admin/dataset", BindRoute(this, &GenericMode::AdminDataset));
    router.Add("POST", "/_admin/mutate", BindRoute(this, &GenericMode::AdminMutate));
    router.Add("POST", "/_admin/add", BindRoute(this, &GenericMode::AdminAdd));
    router.Add("POST", "/_admin/raw-fields", BindRoute(this, &GenericMode::AdminRawFields));
    router.Add("POST", "/_admin/delete", BindRoute(this, &GenericMode::AdminDelete));
    router.Add("POST", "/_admin/revoke-tokens", BindRoute(this, &GenericMode::AdminRevokeTokens));
    router.Add("GET", "/_admin/moving", BindRoute(this, &GenericMode::AdminMoving));
    router.Add("POST", "/_admin/moving", BindRoute(this, &GenericMode::AdminSetMoving));
    router.Add("DELETE", "/_admin/moving", BindRoute(this, &GenericMode::AdminStopMoving));
}

void GenericMode::AddStats(boost::json::object& stats) const {
    stats["records"] = static_cast<std::int64_t>(dataset_.Size());
}

std::int64_t GenericMode::PageSize(const Request& request, std::string_view name) const {
    const std::int64_t size = IntParam(request, name, kDefaultPageSize);
    if (size < 1) {
        throw HttpError(400, std::string(name) + " must be at least 1");
    }
    return std::min(size, options_.max_page_size);
}

GenericMode::Records GenericMode::AfterCursor(const Request& request, Records records) const {
    const std::string* token = request.Param("cursor");
    if (token == nullptr || token->empty()) {
        return records;
    }
    // Both kinds are read whatever kind is being made, so that a test can switch kinds in the
    // middle of a walk.
    if (const auto key = DecodeCursor(*token)) {
        return Dataset::After(records, key->updated_at, key->id);
    }
    if (const auto position = DecodeOffsetCursor(*token)) {
        return records.subspan(std::min(*position, records.size()));
    }
    throw HttpError(400, "invalid cursor");
}

std::string GenericMode::NextToken(Records listing, Records page) const {
    if (tokens_ == GenericTokens::kOffset) {
        const auto position = static_cast<std::size_t>(page.data() - listing.data()) + page.size();
        return EncodeOffsetCursor(position);
    }
    return EncodeCursor({page.back()->updated_at, page.back()->id});
}

Response GenericMode::PageBody(Records records, std::int64_t page, std::int64_t per_page) const {
    if (page < 1) {
        throw HttpError(400, "page must be at least 1");
    }
    const PageWindow window = PageSlice(records.size(), page, per_page);
    std::string body = "{\"data\":";
    body.append(JoinJson(records.subspan(window.begin, window.end - window.begin)));
    body.append(",\"page\":");
    AppendJsonInt(body, page);
    body.append(",\"per_page\":");
    AppendJsonInt(body, per_page);
    body.append(",\"total\":");
    AppendJsonInt(body, static_cast<std::int64_t>(records.size()));
    body.append(",\"total_pages\":");
    AppendJsonInt(body, window.total_pages);
    body.push_back('}');
    return JsonResponse(200, std::move(body));
}

Response GenericMode::Page(const Request& request, const PathParams&) {
    const auto records = dataset_.Since(SinceParam(request));
    return PageBody(records, IntParam(request, "page", 1), PageSize(request, "per_page"));
}

Response GenericMode::Offset(const Request& request, const PathParams&) {
    const auto records = dataset_.Since(SinceParam(request));
    const std::int64_t offset = IntParam(request, "offset", 0);
    if (offset < 0) {
        throw HttpError(400, "offset must not be negative");
    }
    const std::int64_t limit = PageSize(request, "limit");
    const auto begin = std::min(records.size(), static_cast<std::size_t>(offset));
    const auto count = std::min(records.size() - begin, static_cast<std::size_t>(limit));
    std::string body = "{\"items\":";
    body.append(JoinJson(records.subspan(begin, count)));
    body.append(",\"total\":");
    AppendJsonInt(body, static_cast<std::int64_t>(records.size()));
    body.push_back('}');
    return JsonResponse(200, std::move(body));
}

Response GenericMode::Next(const Request& request, const PathParams& params) {
    const auto listing = dataset_.Since(SinceParam(request));
    const auto rest = AfterCursor(request, listing);
    const std::int64_t size = PageSize(request, "page_size");
    const auto page = rest.first(std::min(rest.size(), static_cast<std::size_t>(size)));
    std::string body = "{\"results\":";
    body.append(JoinJson(page));
    body.append(",\"next\":");
    if (page.size() < rest.size()) {
        QueryParams query{{"page_size", std::to_string(size)}};
        KeepFilter(request, query);
        query.emplace_back("cursor", NextToken(listing, page));
        AppendJsonString(body, AbsoluteUrl(request, BasePath(params) + "/next", query));
    } else {
        body.append("null");
    }
    body.push_back('}');
    return JsonResponse(200, std::move(body));
}

Response GenericMode::Cursor(const Request& request, const PathParams&) {
    const auto listing = dataset_.Since(SinceParam(request));
    const auto rest = AfterCursor(request, listing);
    const std::int64_t limit = PageSize(request, "limit");
    const auto page = rest.first(std::min(rest.size(), static_cast<std::size_t>(limit)));
    const bool has_more = page.size() < rest.size();
    std::string body = "{\"records\":";
    body.append(JoinJson(page));
    body.append(",\"meta\":{\"next_cursor\":");
    if (has_more) {
        AppendJsonString(body, NextToken(listing, page));
    } else {
        body.append("null");
    }
    body.append(",\"has_more\":");
    body.append(has_more ? "true" : "false");
    body.append("}}");
    return JsonResponse(200, std::move(body));
}

Response GenericMode::CursorHeader(const Request& request, const PathParams&) {
    const auto listing = dataset_.Since(SinceParam(request));
    const auto rest = AfterCursor(request, listing);
    const std::int64_t limit = PageSize(request, "limit");
    const auto page = rest.first(std::min(rest.size(), static_cast<std::size_t>(limit)));
    Response response = JsonResponse(200, JoinJson(page));
    if (page.size() < rest.size()) {
        response.headers.emplace_back("X-Next-Cursor", NextToken(listing, page));
    }
    return response;
}

Response GenericMode::Link(const Request& request, const PathParams& params) {
    const auto records = dataset_.Since(SinceParam(request));
    const std::int64_t page = IntParam(request, "page", 1);
    if (page < 1) {
        throw HttpError(400, "page must be at least 1");
    }
    const std::int64_t per_page = PageSize(request, "per_page");
    const PageWindow window = PageSlice(records.size(), page, per_page);
    Response response =
        JsonResponse(200, JoinJson(records.subspan(window.begin, window.end - window.begin)));
    const auto url = [&](std::int64_t n) {
        QueryParams query{{"page", std::to_string(n)}, {"per_page", std::to_string(per_page)}};
        KeepFilter(request, query);
        return AbsoluteUrl(request, BasePath(params) + "/link", query);
    };
    // GitHub's order: next and last are not first, and last is there on the last page too,
    // so a client has to pick rel="next" rather than take the first or last entry.
    std::vector<std::pair<std::string, std::string>> links;
    if (page > 1) {
        links.emplace_back(url(1), "first");
        links.emplace_back(
            url(std::min(page - 1, std::max<std::int64_t>(window.total_pages, 1))), "prev"
        );
    }
    if (page < window.total_pages) {
        links.emplace_back(url(page + 1), "next");
    }
    links.emplace_back(url(std::max<std::int64_t>(window.total_pages, 1)), "last");
    response.headers.emplace_back("Link", LinkHeader(links));
    response.headers.emplace_back("X-Total-Count", std::to_string(records.size()));
    return response;
}

Response GenericMode::Single(const Request&, const PathParams& params) {
    const std::string& text = *params.Find("id");
    std::int64_t id = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    const Record* record =
        (ec == std::errc{} && ptr == text.data() + text.size()) ? dataset_.Find(id) : nullptr;
    if (record == nullptr) {
        return ErrorResponse(404, "not found");
    }
    return JsonResponse(200, record->json);
}

Response GenericMode::Comments(const Request& request, const PathParams& params) {
    const std::string& text = *params.Find("id");
    std::int64_t id = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    const Record* record =
        (ec == std::errc{} && ptr == text.data() + text.size()) ? dataset_.Find(id) : nullptr;
    if (record == nullptr) {
        return ErrorResponse(404, "not found");
    }
    const std::int64_t page = IntParam(request, "page", 1);
    if (page < 1) {
        throw HttpError(400, "page must be at least 1");
    }
    const std::vector<Comment> comments = dataset_.Comments(*record);
    const PageWindow window = PageSlice(comments.size(), page, PageSize(request, "per_page"));
    std::string body = "{\"data\":[";
    for (std::size_t i = window.begin; i < window.end; ++i) {
        if (i > window.begin) {
            body.push_back(',');
        }
        body.append(comments[i].json);
    }
    body.append("],\"has_more\":");
    body.append(window.end < comments.size() ? "true" : "false");
    body.push_back('}');
    return JsonResponse(200, std::move(body));
}

Response GenericMode::Search(const Request& request, const PathParams&) {
    const boost::json::object body = BodyObject(request);
    std::optional<SysTime> since;
    if (const auto* v = body.if_contains("updated_since"); v != nullptr && !v->is_null()) {
        if (!v->is_string()) {
            throw HttpError(400, "updated_since must be a string");
        }
        since = ParseSince(v->get_string());
    }
    const std::int64_t per_page = BodyInt(body, "per_page", kDefaultPageSize);
    if (per_page < 1) {
        throw HttpError(400, "per_page must be at least 1");
    }
    return PageBody(
        dataset_.Since(since), BodyInt(body, "page", 1), std::min(per_page, options_.max_page_size)
    );
}

Response GenericMode::Login(const Request& request, const PathParams&) {
    const boost::json::object body = BodyObject(request);
    const auto* username = body.if_contains("username");
    const auto* password = body.if_contains("password");
    if (username == nullptr || password == nullptr || !username->is_string() ||
        !password->is_string()) {
        return ErrorResponse(401, "unauthorized");
    }
    const auto issued = auth_.Login(username->get_string(), password->get_string());
    if (!issued) {
        return ErrorResponse(401, "unauthorized");
    }
    std::string out = "{\"token\":";
    AppendJsonString(out, issued->token);
    out.append(",\"expires_in\":");
    AppendJsonInt(out, issued->expires_in);
    out.push_back('}');
    return JsonResponse(200, std::move(out));
}

Response GenericMode::AdminDataset(const Request&, const PathParams&) {
    return JsonResponse(200, JoinJson(dataset_.Ordered()));
}

Response GenericMode::AdminMutate(const Request& request, const PathParams&) {
    const boost::json::object body = BodyObject(request);
    std::vector<std::int64_t> ids;
    if (body.contains("ids")) {
        ids = BodyIds(body);
    } else if (body.contains("count")) {
        const std::int64_t count = BodyInt(body, "count", 0);
        if (count < 0) {
            throw HttpError(400, "count must not be negative");
        }
        ids = dataset_.PickSpread(static_cast<std::size_t>(count));
    } else if (const auto* fraction = body.if_contains("fraction"); fraction != nullptr) {
        if (!fraction->is_number()) {
            throw HttpError(400, "fraction must be a number");
        }
        const double f = fraction->to_number<double>();
        if (f < 0 || f > 1) {
            throw HttpError(400, "fraction must be between 0 and 1");
        }
        auto count =
            static_cast<std::size_t>(std::llround(f * static_cast<double>(dataset_.Size())));
        if (f > 0 && count == 0) {
            count = 1;
        }
        ids = dataset_.PickSpread(count);
    } else {
        throw HttpError(400, "give one of count, fraction or ids");
    }
    return JsonResponse(200, IdsJson("changed", dataset_.Mutate(ids, Now())));
}

Response GenericMode::AdminAdd(const Request& request, const PathParams&) {
    const std::int64_t count = BodyInt(BodyObject(request), "count", 1);
    if (count < 0) {
        throw HttpError(400, "count must not be negative");
    }
    return JsonResponse(
        200, IdsJson("added", dataset_.Add(static_cast<std::size_t>(count), Now()))
    );
}

Response GenericMode::AdminRawFields(const Request& request, const PathParams&) {
    const boost::json::object body = BodyObject(request);
    const auto* members = body.if_contains("members");
    if (members == nullptr || !members->is_string()) {
        throw HttpError(400, "members must be a string of JSON object members");
    }
    if (!dataset_.SetRawFields(BodyInt(body, "id", 0), std::string(members->get_string()))) {
        throw HttpError(404, "no record with that id");
    }
    return JsonResponse(200, "{\"ok\":true}");
}

Response GenericMode::AdminDelete(const Request& request, const PathParams&) {
    return JsonResponse(200, IdsJson("deleted", dataset_.Remove(BodyIds(BodyObject(request)))));
}

Response GenericMode::AdminMoving(const Request&, const PathParams&) {
    boost::json::object state = moving_.ToJson();
    state["tokens"] = GenericTokensName(tokens_);
    return JsonResponse(200, ToJsonText(state));
}

Response GenericMode::AdminSetMoving(const Request& request, const PathParams& params) {
    const auto setting = ParseMoving(BodyObject(request));
    if (!setting) {
        throw HttpError(400, setting.error().message());
    }
    ApplyMoving(*setting);
    return AdminMoving(request, params);
}

Response GenericMode::AdminStopMoving(const Request& request, const PathParams& params) {
    moving_.Disable();
    return AdminMoving(request, params);
}

Response GenericMode::AdminRevokeTokens(const Request&, const PathParams&) {
    std::string body = "{\"revoked\":";
    AppendJsonInt(body, static_cast<std::int64_t>(auth_.RevokeAll()));
    body.push_back('}');
    return JsonResponse(200, std::move(body));
}

}  // namespace chatsync::emulator
