#include "core/json.hpp"

#include <charconv>

#include <boost/json/serialize.hpp>

namespace chatsync {

const boost::json::value* FindPath(const boost::json::value& root, std::string_view path) {
    const boost::json::value* cur = &root;
    while (!path.empty()) {
        const auto dot = path.find('.');
        const auto part = path.substr(0, dot);
        path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
        if (const auto* obj = cur->if_object()) {
            const auto it = obj->find(part);
            if (it == obj->end()) {
                return nullptr;
            }
            cur = &it->value();
        } else if (const auto* arr = cur->if_array()) {
            std::size_t index = 0;
            const auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), index);
            if (ec != std::errc{} || ptr != part.data() + part.size() || index >= arr->size()) {
                return nullptr;
            }
            cur = &(*arr)[index];
        } else {
            return nullptr;
        }
    }
    return cur;
}

std::string ScalarText(const boost::json::value& v) {
    switch (v.kind()) {
        case boost::json::kind::string:
            return std::string(v.get_string());
        case boost::json::kind::null:
            return {};
        default:
            return boost::json::serialize(v);
    }
}

void AppendJsonString(std::string& out, std::string_view s) {
    out.push_back('"');
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        switch (ch) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20) {
                    static constexpr char kHex[] = "0123456789abcdef";
                    out += "\\u00";
                    out.push_back(kHex[c >> 4U]);
                    out.push_back(kHex[c & 0x0FU]);
                } else {
                    out.push_back(ch);
                }
        }
    }
    out.push_back('"');
}

}  // namespace chatsync
