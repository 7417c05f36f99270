#include "normalize/flatten.hpp"

#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "core/time.hpp"

namespace chatsync::normalize {
namespace {

std::string FormatDouble(double d) {
    // JSON has no NaN or infinities, so every double here is finite; %.17g round-trips.
    std::array<char, 32> buf{};
    const int n = std::snprintf(buf.data(), buf.size(), "%.17g", d);
    std::string shortest(buf.data(), static_cast<std::size_t>(n));
    // Prefer the shortest representation that reads back as the same double.
    for (int precision = 1; precision < 17; ++precision) {
        const int m = std::snprintf(buf.data(), buf.size(), "%.*g", precision, d);
        if (std::strtod(buf.data(), nullptr) == d) {
            return {buf.data(), static_cast<std::size_t>(m)};
        }
    }
    return shortest;
}

void Flatten(
    RowBatch& batch,
    const boost::json::object& obj,
    std::string& path,
    std::string& name,
    std::uint32_t depth,
    const FlattenOptions& options
) {
    for (const auto& kv : obj) {
        const auto path_len = path.size();
        const auto name_len = name.size();
        if (!path.empty()) {
            path.push_back('.');
            name += "__";
        }
        path += kv.key();
        name += SnakeCase(kv.key());
        const auto* child = kv.value().if_object();
        if (child != nullptr && depth + 1 < options.max_nesting) {
            Flatten(batch, *child, path, name, depth + 1, options);
        } else if (!kv.value().is_null()) {
            batch.Set(batch.Column(path, name), ToValue(kv.value()));
        } else {
            // A null has no type; the column is noted untyped so that the sink clears an
            // existing column but creates none for it.
            batch.Column(path, name);
        }
        path.resize(path_len);
        name.resize(name_len);
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
            return {boost::json::serialize(v), ColumnType::kJsonb};
    }
    return {boost::json::serialize(v), ColumnType::kJsonb};
}

void AppendRecord(
    RowBatch& batch,
    const boost::json::object& record,
    const FlattenOptions& options
) {
    batch.AddRow();
    std::string path;
    std::string name;
    Flatten(batch, record, path, name, 0, options);
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
