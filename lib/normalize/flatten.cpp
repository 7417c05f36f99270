#include "normalize/flatten.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string_view>
#include <vector>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "core/json.hpp"
#include "core/time.hpp"
#include "normalize/convert.hpp"

namespace chatsync::normalize {
namespace {

std::string FormatDouble(double d) {
    // JSON has no NaN or infinities, so every double here is finite. to_chars gives the
    // shortest text that reads back as the same double.
    std::array<char, 32> buf{};
    const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), d);
    return ec == std::errc{} ? std::string(buf.data(), end) : std::to_string(d);
}

/// The proposed column name of a path: its components in snake_case, joined by "__".
std::string ColumnName(const std::vector<std::string_view>& components) {
    std::string name;
    for (const auto c : components) {
        if (!name.empty()) {
            name += "__";
        }
        name += SnakeCase(c);
    }
    return name;
}

/// The batch column for a path; the name is worked out only for a path new to the batch.
std::size_t
ColumnOf(RowBatch& batch, std::string_view path, const std::vector<std::string_view>& components) {
    if (const auto column = batch.FindColumn(path)) {
        return *column;
    }
    return batch.Column(path, ColumnName(components));
}

/// The declared type of `path`, if any.
std::optional<ColumnType> DeclaredType(const FlattenOptions& options, std::string_view path) {
    if (options.declared == nullptr || options.declared->empty()) {
        return std::nullopt;
    }
    if (const auto it = options.declared->find(path); it != options.declared->end()) {
        return it->second;
    }
    return std::nullopt;
}

/// Sets a declared field's cell; false when its value cannot take the type.
bool SetDeclared(
    RowBatch& batch,
    std::string_view path,
    const std::vector<std::string_view>& components,
    const boost::json::value& v,
    ColumnType type
) {
    // Declared before the value is looked at, so that a column that is null throughout
    // the batch still gets its type (and a table made now, its column).
    const auto column = batch.Declare(path, ColumnName(components), type);
    if (v.is_null()) {
        return true;
    }
    auto converted = ConvertTo(v, type);
    if (!converted) {
        return false;
    }
    batch.Set(column, std::move(*converted));
    return true;
}

void Flatten(
    RowBatch& batch,
    const boost::json::object& obj,
    std::string& path,
    std::vector<std::string_view>& components,
    const FlattenOptions& options,
    std::optional<BadValue>& bad
) {
    for (const auto& kv : obj) {
        if (bad) {
            return;
        }
        const auto path_len = path.size();
        if (!path.empty()) {
            path.push_back('.');
        }
        path += kv.key();
        components.push_back(kv.key());
        const auto* child = kv.value().if_object();
        if (const auto declared = DeclaredType(options, path)) {
            if (!SetDeclared(batch, path, components, kv.value(), *declared)) {
                bad = BadValue{path, *declared, JsonTypeName(kv.value())};
            }
        } else if (child != nullptr && components.size() < options.max_nesting) {
            Flatten(batch, *child, path, components, options, bad);
        } else if (!kv.value().is_null()) {
            batch.Set(ColumnOf(batch, path, components), ToValue(kv.value()));
        } else {
            // A null has no type; the column is noted untyped so that the sink clears an
            // existing column but creates none for it.
            ColumnOf(batch, path, components);
        }
        components.pop_back();
        path.resize(path_len);
    }
}

}  // namespace

Value ToValue(const boost::json::value& v) {
    switch (v.kind()) {
        case boost::json::kind::bool_:
            return {v.get_bool() ? "true" : "false", ColumnType::kBoolean};
        case boost::json::kind::int64:
            return {std::to_string(v.get_int64()), ColumnType::kBigint};
        case boost::json::kind::uint64:
            return {std::to_string(v.get_uint64()), ColumnType::kText};
        case boost::json::kind::double_:
            return {FormatDouble(v.get_double()), ColumnType::kDouble};
        case boost::json::kind::string: {
            if (const auto big = BigIntegerText(v)) {
                return {std::string(*big), ColumnType::kNumeric};
            }
            const auto s = std::string_view(v.get_string());
            if (s.size() >= 16 && s.size() <= 40) {
                if (const auto t = ParseIso8601(s)) {
                    return {FormatIso8601(*t), ColumnType::kTimestamptz};
                }
            }
            return {std::string(s), ColumnType::kText};
        }
        case boost::json::kind::null:
            return {"null", ColumnType::kJsonb};
        case boost::json::kind::array:
        case boost::json::kind::object:
            return {SerializeJson(v), ColumnType::kJsonb};
    }
    return {SerializeJson(v), ColumnType::kJsonb};
}

std::optional<BadValue>
AppendRecord(RowBatch& batch, const boost::json::object& record, const FlattenOptions& options) {
    batch.AddRow();
    std::string path;
    std::vector<std::string_view> components;
    std::optional<BadValue> bad;
    Flatten(batch, record, path, components, options, bad);
    return bad;
}

std::string BadValue::Describe() const {
    return "field '" + path + "' is declared " + std::string(ColumnTypeName(declared)) +
           " but holds " + std::string(received) + " that cannot be read as one";
}

std::string SnakeCase(std::string_view component) {
    std::string out;
    out.reserve(component.size() + 4);
    for (std::size_t i = 0; i < component.size(); ++i) {
        const auto c = static_cast<unsigned char>(component[i]);
        if (std::isupper(c) != 0) {
            const bool prev_lower_or_digit =
                i > 0 && (std::islower(static_cast<unsigned char>(component[i - 1])) != 0 ||
                          std::isdigit(static_cast<unsigned char>(component[i - 1])) != 0);
            const bool acronym_end =
                i > 0 && std::isupper(static_cast<unsigned char>(component[i - 1])) != 0 &&
                i + 1 < component.size() &&
                std::islower(static_cast<unsigned char>(component[i + 1])) != 0;
            if ((prev_lower_or_digit || acronym_end) && !out.empty() && out.back() != '_') {
                out.push_back('_');
            }
            out.push_back(static_cast<char>(std::tolower(c)));
        } else if (std::islower(c) != 0 || std::isdigit(c) != 0 || c == '_') {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('_');
        }
    }
    if (out.empty()) {
        out = "_";
    }
    return out;
}

}  // namespace chatsync::normalize
