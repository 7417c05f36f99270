#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <future>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "emulator/mesibo/data.hpp"
#include "emulator_fixture.hpp"

/// @file
/// Helpers of the Mesibo mode tests: options, one op per POST, and reading the answers.

namespace chatsync::emulator::test {

namespace json = boost::json;

inline constexpr std::string_view kToken = "mesibo-app-token";

inline Options MbOptions(std::int64_t users = 1000, std::int64_t groups = 150) {
    Options options;
    options.modes = {"mesibo"};
    options.mesibo_users = users;
    options.mesibo_groups = groups;
    return options;
}

/// POSTs `body` (JSON text) to /backend/ with the app token unless it names one, and returns
/// the answer, which must be HTTP 200 whatever the outcome.
inline json::object Op(TestClient& client, std::string_view body, const Headers& headers = {}) {
    json::object request = json::parse(body).as_object();
    if (!request.contains("token")) {
        request["token"] = kToken;
    }
    const HttpResult r = client.Post("/backend/", json::serialize(request), headers);
    EXPECT_EQ(r.status, 200u) << r.body;
    return r.Json().as_object();
}

inline void ExpectError(const json::object& answer, std::string_view error, std::int64_t code) {
    EXPECT_EQ(answer.at("result"), json::value(false)) << json::serialize(answer);
    EXPECT_EQ(answer.at("error").as_string(), error) << json::serialize(answer);
    EXPECT_EQ(answer.at("code").as_int64(), code) << json::serialize(answer);
}

inline std::vector<std::string> Properties(const json::object& answer) {
    std::vector<std::string> out;
    for (const auto& p : answer.at("properties").as_array()) {
        out.emplace_back(p.as_string());
    }
    return out;
}

/// A uid or gid written as a number or as a string.
inline std::int64_t IdOf(const json::value& v) {
    return v.is_string() ? std::stoll(std::string(v.as_string())) : v.as_int64();
}

/// The rows of a list answer: the array, the single object, or nothing.
inline std::vector<json::object>
Rows(const json::object& answer, std::string_view one, std::string_view many) {
    std::vector<json::object> rows;
    if (const auto* single = answer.if_contains(one)) {
        rows.push_back(single->as_object());
    }
    if (const auto* list = answer.if_contains(many)) {
        for (const auto& row : list->as_array()) {
            rows.push_back(row.as_object());
        }
    }
    return rows;
}

inline json::object Dataset(TestClient& client) {
    const HttpResult r = client.Get("/_admin/mesibo/dataset");
    EXPECT_EQ(r.status, 200u) << r.body;
    return r.Json().as_object();
}

inline std::string EscapeLike(std::string_view s) {
    std::string out;
    for (const char c : s) {
        if (c == '_' || c == '%' || c == '\\') {
            out.push_back('\\');
        }
        out.push_back(c);
    }
    return out;
}

inline std::string UsersGetBody(const std::string& address, std::int64_t count = 100) {
    json::object body{{"op", "usersget"}, {"count", count}};
    body["user"] = json::object{{"address", address}};
    return json::serialize(body);
}

}  // namespace chatsync::emulator::test
