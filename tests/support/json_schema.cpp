#include "support/json_schema.hpp"

#include <fstream>
#include <set>
#include <sstream>
#include <string_view>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace chatsync::test {
namespace {

namespace json = boost::json;

/// Keywords that only describe, and change nothing in what conforms.
const std::set<std::string_view> kAnnotations = {"title", "description", "$schema", "$id", "$defs"};

bool HasType(const json::value& v, std::string_view type) {
    if (type == "object") {
        return v.is_object();
    }
    if (type == "array") {
        return v.is_array();
    }
    if (type == "string") {
        return v.is_string();
    }
    if (type == "boolean") {
        return v.is_bool();
    }
    if (type == "null") {
        return v.is_null();
    }
    if (type == "number") {
        return v.is_number();
    }
    if (type == "integer") {
        return v.is_int64() || v.is_uint64() ||
               (v.is_double() &&
                v.get_double() == static_cast<double>(static_cast<std::int64_t>(v.get_double())));
    }
    return false;
}

class Validator {
public:
    explicit Validator(const json::value& root)
        : root_(root) {}

    void Check(const json::value& v, const json::value& schema, const std::string& at) {
        if (!schema.is_object()) {
            Error(at, "the schema here is not an object");
            return;
        }
        const auto& s = schema.get_object();
        for (const auto& [key, rule] : s) {
            if (kAnnotations.count(key) > 0) {
                continue;
            }
            if (key == "$ref") {
                Ref(v, rule, at);
            } else if (key == "type") {
                Type(v, rule, at);
            } else if (key == "enum") {
                Enum(v, rule, at);
            } else if (key == "required") {
                Required(v, rule, at);
            } else if (key == "properties") {
                Properties(v, rule, at);
            } else if (key == "additionalProperties") {
                Additional(v, rule, s, at);
            } else if (key == "items") {
                Items(v, rule, at);
            } else if (key == "minimum") {
                Minimum(v, rule, at);
            } else {
                Error(at, "the schema uses '" + std::string(key) + "', which is not checked");
            }
        }
    }

    std::vector<std::string> errors;

private:
    void Error(const std::string& at, const std::string& what) {
        errors.push_back(at + ": " + what);
    }

    void Ref(const json::value& v, const json::value& rule, const std::string& at) {
        constexpr std::string_view kPrefix = "#/$defs/";
        const auto* ref = rule.if_string();
        const json::value* target = nullptr;
        if (ref != nullptr && ref->starts_with(kPrefix) && root_.is_object()) {
            const auto* defs = root_.get_object().if_contains("$defs");
            if (defs != nullptr && defs->is_object()) {
                target = defs->get_object().if_contains(ref->subview(kPrefix.size()));
            }
        }
        if (target == nullptr) {
            Error(at, "unresolved $ref " + json::serialize(rule));
            return;
        }
        Check(v, *target, at);
    }

    void Type(const json::value& v, const json::value& rule, const std::string& at) {
        std::vector<std::string_view> types;
        if (rule.is_string()) {
            types.emplace_back(rule.get_string());
        } else if (rule.is_array()) {
            for (const auto& t : rule.get_array()) {
                if (t.is_string()) {
                    types.emplace_back(t.get_string());
                }
            }
        }
        for (const auto t : types) {
            if (HasType(v, t)) {
                return;
            }
        }
        Error(at, json::serialize(v) + " is not of type " + json::serialize(rule));
    }

    void Enum(const json::value& v, const json::value& rule, const std::string& at) {
        if (rule.is_array()) {
            for (const auto& allowed : rule.get_array()) {
                if (allowed == v) {
                    return;
                }
            }
        }
        Error(at, json::serialize(v) + " is not one of " + json::serialize(rule));
    }

    void Required(const json::value& v, const json::value& rule, const std::string& at) {
        if (!v.is_object() || !rule.is_array()) {
            return;
        }
        for (const auto& name : rule.get_array()) {
            if (name.is_string() && !v.get_object().contains(name.get_string())) {
                Error(at, "missing '" + std::string(name.get_string()) + "'");
            }
        }
    }

    void Properties(const json::value& v, const json::value& rule, const std::string& at) {
        if (!v.is_object() || !rule.is_object()) {
            return;
        }
        for (const auto& [name, sub] : rule.get_object()) {
            if (const auto* field = v.get_object().if_contains(name)) {
                Check(*field, sub, at + "." + std::string(name));
            }
        }
    }

    void Additional(
        const json::value& v,
        const json::value& rule,
        const json::object& schema,
        const std::string& at
    ) {
        if (!rule.is_bool()) {
            Error(at, "additionalProperties other than a boolean is not checked");
            return;
        }
        if (rule.get_bool() || !v.is_object()) {
            return;
        }
        const auto* properties = schema.if_contains("properties");
        for (const auto& [name, field] : v.get_object()) {
            if (properties == nullptr || !properties->is_object() ||
                !properties->get_object().contains(name)) {
                Error(at, "unexpected property '" + std::string(name) + "'");
            }
        }
    }

    void Items(const json::value& v, const json::value& rule, const std::string& at) {
        if (!v.is_array()) {
            return;
        }
        std::size_t i = 0;
        for (const auto& item : v.get_array()) {
            Check(item, rule, at + "[" + std::to_string(i++) + "]");
        }
    }

    void Minimum(const json::value& v, const json::value& rule, const std::string& at) {
        if (!v.is_number() || !rule.is_number()) {
            return;
        }
        if (v.to_number<double>() < rule.to_number<double>()) {
            Error(at, json::serialize(v) + " is less than the minimum " + json::serialize(rule));
        }
    }

    const json::value& root_;
};

}  // namespace

std::vector<std::string> ValidateJson(const json::value& document, const json::value& schema) {
    Validator validator(schema);
    validator.Check(document, schema, "$");
    return std::move(validator.errors);
}

std::vector<std::string> ValidateJsonFile(const json::value& document, const std::string& path) {
    std::ifstream in(path);
    if (!in) {
        return {path + ": cannot be read"};
    }
    std::stringstream text;
    text << in.rdbuf();
    boost::system::error_code ec;
    const json::value schema = json::parse(text.str(), ec);
    if (ec) {
        return {path + ": not JSON: " + ec.message()};
    }
    return ValidateJson(document, schema);
}

}  // namespace chatsync::test
