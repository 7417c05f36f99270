#include "config/detail/source_values.hpp"

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

#include "config/detail/spec_parser.hpp"
#include "config/detail/text_file.hpp"
#include "core/text.hpp"

namespace chatsync::config::detail {

namespace cn = chatsync::connectors;

namespace {

bool LooksSecret(std::string_view key) {
    const std::string k = ToLower(key);
    for (const std::string_view word :
         {"password", "passwd", "token", "secret", "key", "dsn", "credential"}) {
        if (k.find(word) != std::string::npos) {
            return true;
        }
    }
    return false;
}

void ReportUnknownValue(
    Context& ctx,
    const YamlNode& key_node,
    const std::string& key_path,
    const std::string& key,
    bool is_file,
    const std::vector<std::string>& known,
    const std::string& connector
) {
    std::string msg = "unknown key '" + key_node.scalar + "' for connector '" + connector + "'";
    if (known.empty()) {
        ctx.Error(key_node.mark, key_path, msg + " (it takes no config values)");
        return;
    }
    std::string close = ClosestMatch(key, known);
    if (!close.empty()) {
        if (is_file) {
            close += std::string(kFileSuffix);
        }
        ctx.Error(key_node.mark, key_path, msg + " (did you mean '" + close + "'?)");
        return;
    }
    ctx.Error(key_node.mark, key_path, msg + " (it takes " + JoinNames(known) + ")");
}

}  // namespace

void ReadValues(
    Context& ctx,
    const YamlNode& node,
    const std::string& path,
    const cn::ConnectorSpec* spec,
    SourceConfig& src,
    std::set<std::string>& given
) {
    std::vector<std::string> known;
    if (spec != nullptr) {
        for (const auto& [k, p] : spec->params) {
            known.push_back(k);
        }
        for (const auto& k : ConfigReferences(*spec)) {
            if (std::find(known.begin(), known.end(), k) == known.end()) {
                known.push_back(k);
            }
        }
    }
    const auto entries = ReadEntries(ctx, node, path);
    std::set<std::string> present;
    for (const auto& e : entries) {
        present.insert(e.key);
    }
    for (const auto& e : entries) {
        const std::string key_path = JoinPath(path, e.key);
        const bool declared = spec != nullptr && spec->params.count(e.key) > 0;
        std::string key = e.key;
        const bool is_file =
            !declared && key.size() > kFileSuffix.size() && key.ends_with(kFileSuffix);
        if (is_file) {
            key.resize(key.size() - kFileSuffix.size());
        }
        if (spec != nullptr && std::find(known.begin(), known.end(), key) == known.end()) {
            ReportUnknownValue(ctx, *e.key_node, key_path, key, is_file, known, spec->name);
            continue;
        }
        // "key:" with no value leaves the key unset, so a required key is still reported.
        if (is_file || !e.value->IsNull()) {
            given.insert(key);
        }
        if (is_file) {
            if (present.count(key) > 0) {
                ctx.Error(e.key_node->mark, key_path, "set " + key + " or " + e.key + ", not both");
                continue;
            }
            if (auto content = ReadSecretFile(ctx, *e.value, key_path)) {
                src.values[key] = std::move(*content);
                src.secret_keys.push_back(key);
            }
            continue;
        }
        const auto s = ReadScalar(ctx, *e.value, key_path);
        if (!s) {
            continue;
        }
        src.values[key] = s->text;
        if (LooksSecret(key)) {
            src.secret_keys.push_back(key);
        }
    }
}

void FillDefaultsAndRequired(
    Context& ctx,
    MapReader& m,
    const cn::ConnectorSpec& spec,
    const std::set<std::string>& given,
    SourceConfig& src
) {
    const YamlNode* config_node = m.Get("config");
    const Mark mark = config_node != nullptr ? config_node->mark : m.mark();
    for (const auto& [key, param] : spec.params) {
        if (src.values.count(key) == 0 && given.count(key) == 0) {
            if (param.default_value) {
                src.values[key] = *param.default_value;
            } else if (param.required) {
                ctx.Error(
                    mark,
                    JoinPath(m.PathOf("config"), key),
                    std::string("required by connector '")
                        .append(spec.name)
                        .append("'; set ")
                        .append(key)
                        .append(" or ")
                        .append(key)
                        .append(kFileSuffix)
                );
                continue;
            }
        }
        if (param.secret && src.values.count(key) > 0) {
            src.secret_keys.push_back(key);
        }
    }
}

void CheckWebhook(
    Context& ctx,
    MapReader& m,
    const cn::ConnectorSpec& spec,
    const Config& config,
    const SourceConfig& src
) {
    if (!spec.webhook) {
        return;
    }
    if (config.webhooks.listen.empty() && src.enabled) {
        ctx.Error(
            m.mark(),
            m.PathOf("connector"),
            "connector '" + spec.name +
                "' receives webhooks: set webhooks.listen (for example 127.0.0.1:8080, "
                "behind a reverse proxy with TLS)"
        );
    }
    const auto& key = spec.webhook->token_param;
    const auto it = src.values.find(key);
    if (it == src.values.end()) {
        return;  // Reported as missing already.
    }
    const auto& token = it->second;
    const bool url_safe = std::all_of(token.begin(), token.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' ||
               c == '.' || c == '~';
    });
    if (token.size() < 16 || !url_safe) {
        const YamlNode* config_node = m.Get("config");
        ctx.Error(
            config_node != nullptr ? config_node->mark : m.mark(),
            JoinPath(m.PathOf("config"), key),
            "must be at least 16 characters of A-Z a-z 0-9 - _ . ~ (it is the secret part "
            "of the webhook URL; 'openssl rand -hex 24' makes one)"
        );
    }
}

}  // namespace chatsync::config::detail
