#include <string>
#include <vector>

#include "config/detail/map_reader.hpp"
#include "config/detail/spec_sections.hpp"

namespace chatsync::config::detail {

namespace cn = chatsync::connectors;

namespace {

const std::vector<std::string> kMethods{"GET", "POST", "PUT", "PATCH", "DELETE"};

/// A query/header value: any scalar as text (numbers as written), null as "".
std::string ReadTemplateValue(Context& ctx, const YamlNode& node, const std::string& path) {
    return ReadString(ctx, node, path).value_or("");
}

}  // namespace

std::vector<cn::TemplatePair>
ReadPairs(Context& ctx, const YamlNode& node, const std::string& path) {
    std::vector<cn::TemplatePair> out;
    for (const auto& e : ReadEntries(ctx, node, path)) {
        out.emplace_back(e.key, ReadTemplateValue(ctx, *e.value, JoinPath(path, e.key)));
    }
    return out;
}

cn::RequestSpec ReadRequest(Context& ctx, const YamlNode& node, const std::string& path) {
    cn::RequestSpec out;
    MapReader m(ctx, node, path);
    if (const auto method = m.Choice("method", kMethods)) {
        out.method = kMethods[*method];
    }
    if (const YamlNode* p = m.Required("path")) {
        out.path = ReadString(ctx, *p, m.PathOf("path")).value_or("");
    }
    if (const YamlNode* q = m.Get("query")) {
        out.query = ReadPairs(ctx, *q, m.PathOf("query"));
    }
    if (const YamlNode* h = m.Get("headers")) {
        out.headers = ReadPairs(ctx, *h, m.PathOf("headers"));
    }
    if (const YamlNode* b = m.Get("body")) {
        out.body = ReadJson(ctx, *b, m.PathOf("body"));
    }
    m.Finish();
    return out;
}

}  // namespace chatsync::config::detail
