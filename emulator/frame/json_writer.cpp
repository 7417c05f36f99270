#include "emulator/frame/json_writer.hpp"

#include <array>
#include <charconv>
#include <cmath>

namespace chatsync::emulator {

void AppendJsonDouble(std::string& out, double v) {
    if (!std::isfinite(v)) {
        out.append("null");
        return;
    }
    std::array<char, 32> buf{};
    const auto [ptr, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    const std::string_view text(buf.data(), static_cast<std::size_t>(ptr - buf.data()));
    out.append(text);
    if (text.find_first_of(".eE") == std::string_view::npos) {
        out.append(".0");
    }
}

void AppendJsonInt(std::string& out, std::int64_t v) {
    std::array<char, 24> buf{};
    const auto [ptr, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    out.append(buf.data(), ptr);
}

void AppendJson(std::string& out, const boost::json::value& v) {
    switch (v.kind()) {
        case boost::json::kind::null:
            out.append("null");
            break;
        case boost::json::kind::bool_:
            out.append(v.get_bool() ? "true" : "false");
            break;
        case boost::json::kind::int64:
            AppendJsonInt(out, v.get_int64());
            break;
        case boost::json::kind::uint64:
            out.append(std::to_string(v.get_uint64()));
            break;
        case boost::json::kind::double_:
            AppendJsonDouble(out, v.get_double());
            break;
        case boost::json::kind::string:
            AppendJsonString(out, v.get_string());
            break;
        case boost::json::kind::array: {
            out.push_back('[');
            bool first = true;
            for (const auto& item : v.get_array()) {
                if (!first) {
                    out.push_back(',');
                }
                first = false;
                AppendJson(out, item);
            }
            out.push_back(']');
            break;
        }
        case boost::json::kind::object: {
            out.push_back('{');
            bool first = true;
            for (const auto& member : v.get_object()) {
                if (!first) {
                    out.push_back(',');
                }
                first = false;
                AppendJsonString(out, member.key());
                out.push_back(':');
                AppendJson(out, member.value());
            }
            out.push_back('}');
            break;
        }
    }
}

std::string ToJsonText(const boost::json::value& v) {
    std::string out;
    AppendJson(out, v);
    return out;
}

}  // namespace chatsync::emulator
