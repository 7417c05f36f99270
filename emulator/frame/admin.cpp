#include "emulator/frame/admin.hpp"

#include <charconv>

#include <boost/json/parse.hpp>

#include "emulator/frame/json_writer.hpp"

namespace chatsync::emulator {

bool IsAdminPath(std::string_view path) {
    return path == "/_admin" || path.starts_with("/_admin/");
}

void AddAdminRoutes(
    Router& router,
    RequestLog& log,
    FaultList& faults,
    const std::vector<std::unique_ptr<Mode>>& modes
) {
    router.Add("GET", "/_admin/requests", [&log](const Request& request, const PathParams&) {
        std::size_t from = 0;
        if (const std::string* text = request.Param("from"); text != nullptr) {
            const auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), from);
            if (ec != std::errc{} || ptr != text->data() + text->size()) {
                throw HttpError(400, "from must be a non-negative integer");
            }
        }
        return JsonResponse(200, log.ToJson(from));
    });
    router.Add("POST", "/_admin/requests/clear", [&log](const Request&, const PathParams&) {
        std::string body = "{\"cleared\":";
        AppendJsonInt(body, static_cast<std::int64_t>(log.Clear()));
        body.push_back('}');
        return JsonResponse(200, std::move(body));
    });
    router.Add("GET", "/_admin/stats", [&log, &modes, &faults](const Request&, const PathParams&) {
        boost::json::object stats;
        for (const auto& mode : modes) {
            mode->AddStats(stats);
        }
        stats["requests"] = static_cast<std::int64_t>(log.Size());
        stats["faults"] = static_cast<std::int64_t>(faults.Size());
        return JsonResponse(200, ToJsonText(stats));
    });
    router.Add("GET", "/_admin/faults", [&faults](const Request&, const PathParams&) {
        return JsonResponse(200, ToJsonText(faults.ToJson()));
    });
    router.Add("POST", "/_admin/faults", [&faults](const Request& request, const PathParams&) {
        boost::system::error_code ec;
        const auto json = boost::json::parse(request.body, ec);
        if (ec) {
            throw HttpError(400, "body must be a fault object or an array of them");
        }
        auto parsed = ParseFaults(json);
        if (!parsed) {
            throw HttpError(400, parsed.error().message());
        }
        faults.Append(std::move(*parsed));
        std::string body = "{\"faults\":";
        AppendJsonInt(body, static_cast<std::int64_t>(faults.Size()));
        body.push_back('}');
        return JsonResponse(200, std::move(body));
    });
    const auto clear = [&faults](const Request&, const PathParams&) {
        faults.Clear();
        return JsonResponse(200, "{\"faults\":0}");
    };
    router.Add("DELETE", "/_admin/faults", clear);
    router.Add("POST", "/_admin/faults/clear", clear);
}

}  // namespace chatsync::emulator
