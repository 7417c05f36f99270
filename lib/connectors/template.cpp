#include "connectors/template.hpp"

#include "core/json.hpp"
#include "core/text.hpp"

namespace chatsync::connectors {
namespace {

/// If `text` is exactly "{{ path }}", returns the trimmed path.
std::optional<std::string_view> SolePlaceholder(std::string_view text) {
    const auto t = Trim(text);
    if (!t.starts_with("{{") || !t.ends_with("}}") || t.size() < 4) {
        return std::nullopt;
    }
    const auto inner = t.substr(2, t.size() - 4);
    if (inner.find("{{") != std::string_view::npos || inner.find("}}") != std::string_view::npos) {
        return std::nullopt;
    }
    return Trim(inner);
}

/// Replaces the placeholders whose path `wanted` accepts with the context's value there,
/// and keeps the others as written.
template <class Wanted>
std::string
RenderWhere(std::string_view text, const boost::json::object& context, const Wanted& wanted) {
    std::string out;
    out.reserve(text.size());
    const boost::json::value root(context);
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto open = text.find("{{", pos);
        if (open == std::string_view::npos) {
            break;
        }
        const auto close = text.find("}}", open + 2);
        if (close == std::string_view::npos) {
            break;
        }
        out.append(text.substr(pos, open - pos));
        const auto path = Trim(text.substr(open + 2, close - open - 2));
        if (!wanted(path)) {
            out.append(text.substr(open, close + 2 - open));
        } else if (const auto* v = FindPath(root, path)) {
            out += ScalarText(*v);
        }
        pos = close + 2;
    }
    out.append(text.substr(pos));
    return out;
}

/// Whether `path` is `root` or a path below it.
bool Under(std::string_view path, std::string_view root) {
    return path == root ||
           (path.starts_with(root) && path.size() > root.size() && path[root.size()] == '.');
}

}  // namespace

std::string Render(std::string_view text, const boost::json::object& context) {
    return RenderWhere(text, context, [](std::string_view) { return true; });
}

std::string
RenderOnly(std::string_view text, std::string_view root, const boost::json::object& context) {
    return RenderWhere(text, context, [root](std::string_view path) { return Under(path, root); });
}

bool References(std::string_view text, std::string_view path) {
    std::size_t pos = 0;
    while ((pos = text.find("{{", pos)) != std::string_view::npos) {
        const auto close = text.find("}}", pos + 2);
        if (close == std::string_view::npos) {
            return false;
        }
        const auto ref = Trim(text.substr(pos + 2, close - pos - 2));
        if (Under(ref, path)) {
            return true;
        }
        pos = close + 2;
    }
    return false;
}

boost::json::value RenderJson(const boost::json::value& body, const boost::json::object& context) {
    switch (body.kind()) {
        case boost::json::kind::string: {
            const auto s = std::string_view(body.get_string());
            if (const auto path = SolePlaceholder(s)) {
                const boost::json::value root(context);
                if (const auto* v = FindPath(root, *path)) {
                    return *v;
                }
                return nullptr;
            }
            return boost::json::value(Render(s, context));
        }
        case boost::json::kind::array: {
            boost::json::array out;
            for (const auto& item : body.get_array()) {
                out.push_back(RenderJson(item, context));
            }
            return out;
        }
        case boost::json::kind::object: {
            boost::json::object out;
            for (const auto& kv : body.get_object()) {
                out[kv.key()] = RenderJson(kv.value(), context);
            }
            return out;
        }
        default:
            return body;
    }
}

}  // namespace chatsync::connectors
