#include <cctype>
#include <set>
#include <string_view>

#include <boost/json/value.hpp>

#include "config/detail/spec_parser.hpp"

namespace chatsync::config::detail {

namespace cn = chatsync::connectors;

namespace {

void CollectRefs(std::string_view text, std::set<std::string>& out) {
    std::size_t pos = 0;
    while ((pos = text.find("{{", pos)) != std::string_view::npos) {
        const std::size_t end = text.find("}}", pos + 2);
        if (end == std::string_view::npos) {
            return;
        }
        std::string_view inner = text.substr(pos + 2, end - pos - 2);
        while (!inner.empty() && inner.front() == ' ') {
            inner.remove_prefix(1);
        }
        if (inner.starts_with("config.")) {
            inner.remove_prefix(7);
            std::size_t n = 0;
            while (n < inner.size() &&
                   (std::isalnum(static_cast<unsigned char>(inner[n])) != 0 || inner[n] == '_')) {
                ++n;
            }
            if (n > 0) {
                out.emplace(inner.substr(0, n));
            }
        }
        pos = end + 2;
    }
}

void CollectRefs(const boost::json::value& v, std::set<std::string>& out) {
    if (const auto* s = v.if_string()) {
        CollectRefs(std::string_view(*s), out);
    } else if (const auto* a = v.if_array()) {
        for (const auto& item : *a) {
            CollectRefs(item, out);
        }
    } else if (const auto* o = v.if_object()) {
        for (const auto& kv : *o) {
            CollectRefs(kv.value(), out);
        }
    }
}

void CollectRefs(const cn::RequestSpec& r, std::set<std::string>& out) {
    CollectRefs(r.path, out);
    for (const auto& [k, v] : r.query) {
        CollectRefs(v, out);
    }
    for (const auto& [k, v] : r.headers) {
        CollectRefs(v, out);
    }
    if (r.body) {
        CollectRefs(*r.body, out);
    }
}

}  // namespace

std::set<std::string> AuthReferences(const cn::AuthSpec& a) {
    std::set<std::string> out;
    CollectRefs(a.token, out);
    CollectRefs(a.username, out);
    CollectRefs(a.password, out);
    CollectRefs(a.key_value, out);
    CollectRefs(a.header_value, out);
    CollectRefs(a.login, out);
    for (const auto& c : a.when) {
        out.insert(c.param);
    }
    return out;
}

std::set<std::string> ConfigReferences(const cn::ConnectorSpec& spec) {
    std::set<std::string> out;
    CollectRefs(spec.base_url, out);
    out.merge(AuthReferences(spec.auth));
    for (const auto& a : spec.auth_options) {
        out.merge(AuthReferences(a));
    }
    for (const auto& [k, v] : spec.headers) {
        CollectRefs(v, out);
    }
    for (const auto& r : spec.resources) {
        CollectRefs(r.request, out);
    }
    return out;
}

}  // namespace chatsync::config::detail
