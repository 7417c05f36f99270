#include "sink/detail/pg_values.hpp"

#include <array>
#include <chrono>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <unistd.h>

#include "sink/detail/event_sql.hpp"

namespace chatsync::sink::detail {

namespace json = boost::json;

std::string OneLine(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    bool space = false;
    for (const char ch : text) {
        if (ch == '\n' || ch == '\r' || ch == '\t' || ch == ' ') {
            space = true;
            continue;
        }
        if (space && !out.empty()) {
            out.push_back(' ');
        }
        space = false;
        out.push_back(ch);
    }
    return out;
}

std::optional<TimePoint> FromMicros(const pqxx::field& f) {
    if (f.is_null()) {
        return std::nullopt;
    }
    return TimePoint(std::chrono::duration_cast<TimePoint::duration>(
        std::chrono::microseconds(f.as<long long>())
    ));
}

std::optional<long long> ToMicros(const std::optional<TimePoint>& t) {
    if (!t) {
        return std::nullopt;
    }
    return std::chrono::duration_cast<std::chrono::microseconds>(t->time_since_epoch()).count();
}

std::optional<std::string> NullIfEmpty(const std::string& s) {
    if (s.empty()) {
        return std::nullopt;
    }
    return s;
}

std::optional<std::string> OptionalText(const pqxx::field& f) {
    if (f.is_null()) {
        return std::nullopt;
    }
    return f.as<std::string>();
}

namespace {

/// resource_state.last_outcome: empty before the first run, else an outcome's name.
std::optional<RunOutcome> StoredOutcome(const std::string& text) {
    if (text.empty()) {
        return std::nullopt;
    }
    auto outcome = ParseOutcome(text);
    if (!outcome) {
        throw SinkFailure(
            Errc::kSinkPermanent, "unknown last_outcome '" + text + "' in resource_state"
        );
    }
    return outcome;
}

}  // namespace

ResourceState StateFromRow(const pqxx::row& row) {
    ResourceState s;
    s.source = row[0].as<std::string>();
    s.resource = row[1].as<std::string>();
    s.cursor = OptionalText(row[2]);
    s.checkpoint = OptionalText(row[3]);
    s.run_id = OptionalText(row[4]);
    s.last_run_at = FromMicros(row[5]);
    s.last_success_at = FromMicros(row[6]);
    s.next_run_at = FromMicros(row[7]);
    s.last_outcome = StoredOutcome(row[8].as<std::string>());
    s.last_error = row[9].as<std::string>();
    s.last_rows_written = row[10].as<long long>();
    s.last_rows_unchanged = row[11].as<long long>();
    s.last_tables = TablesFromJson(row[12].as<std::string>());
    s.replica = row[13].as<std::string>();
    return s;
}

std::string TablesJson(const std::vector<TableCounts>& tables) {
    json::array out;
    out.reserve(tables.size());
    for (const auto& t : tables) {
        out.push_back(json::object{
            {"schema", t.name.schema},
            {"table", t.name.table},
            {"written", t.written},
            {"unchanged", t.unchanged},
            {"deleted", t.deleted},
        });
    }
    return json::serialize(out);
}

std::vector<TableCounts> TablesFromJson(std::string_view text) {
    const auto bad = [&text](const std::string& why) {
        return SinkFailure(
            Errc::kSinkPermanent,
            "resource_state.last_tables " + why + ": " + std::string(text.substr(0, 200))
        );
    };
    boost::system::error_code ec;
    const json::value parsed = json::parse(text, ec);
    if (ec || !parsed.is_array()) {
        throw bad("is not a JSON array");
    }
    std::vector<TableCounts> out;
    out.reserve(parsed.get_array().size());
    for (const auto& v : parsed.get_array()) {
        const auto* o = v.if_object();
        const auto text_of = [o](std::string_view key) -> const json::string* {
            const auto* f = o->if_contains(key);
            return f != nullptr ? f->if_string() : nullptr;
        };
        const auto count_of = [o](std::string_view key) -> const std::int64_t* {
            const auto* f = o->if_contains(key);
            return f != nullptr ? f->if_int64() : nullptr;
        };
        if (o == nullptr || text_of("schema") == nullptr || text_of("table") == nullptr ||
            count_of("written") == nullptr || count_of("unchanged") == nullptr ||
            count_of("deleted") == nullptr) {
            throw bad("has an entry without schema, table, written, unchanged and deleted");
        }
        out.push_back(TableCounts{
            .name = {std::string(*text_of("schema")), std::string(*text_of("table"))},
            .written = *count_of("written"),
            .unchanged = *count_of("unchanged"),
            .deleted = *count_of("deleted"),
        });
    }
    return out;
}

std::string HostName() {
    std::array<char, 256> buf{};
    if (gethostname(buf.data(), buf.size() - 1) != 0) {
        return {};
    }
    return std::string(buf.data());
}

std::string ArrayLiteral(const std::vector<std::int64_t>& values) {
    std::string out = "{";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i > 0) {
            out.push_back(',');
        }
        out += std::to_string(values[i]);
    }
    out.push_back('}');
    return out;
}

namespace {

/// The length of the well-formed UTF-8 sequence at `text[i]` (a byte below 0x80 included),
/// or 0 when none starts there.
std::size_t Utf8SequenceAt(std::string_view text, std::size_t i) noexcept {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80U) {
        return 1;
    }
    std::size_t len = 0;
    std::uint32_t min = 0;
    if ((lead & 0xE0U) == 0xC0U) {
        len = 2;
        min = 0x80;
    } else if ((lead & 0xF0U) == 0xE0U) {
        len = 3;
        min = 0x800;
    } else if ((lead & 0xF8U) == 0xF0U) {
        len = 4;
        min = 0x10000;
    }
    bool ok = len != 0 && i + len <= text.size();
    std::uint32_t code = ok ? (lead & (0x7FU >> len)) : 0U;
    for (std::size_t k = 1; ok && k < len; ++k) {
        const auto next = static_cast<unsigned char>(text[i + k]);
        ok = (next & 0xC0U) == 0x80U;
        code = (code << 6U) | (next & 0x3FU);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are invalid too.
    ok = ok && code >= min && code <= 0x10FFFFU && (code < 0xD800U || code > 0xDFFFU);
    return ok ? len : 0;
}

}  // namespace

std::string ValidText(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const std::size_t len = Utf8SequenceAt(text, i);
        if (len == 0) {
            out += "\xEF\xBF\xBD";
            ++i;
            continue;
        }
        if (text[i] != '\0') {
            out.append(text.substr(i, len));
        }
        i += len;
    }
    return out;
}

bool IsUtf8(std::string_view text) noexcept {
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t len = Utf8SequenceAt(text, i);
        if (len == 0) {
            return false;
        }
        i += len;
    }
    return true;
}

std::string TimestampSql(TimePoint t) {
    return "('epoch'::timestamptz + " + std::to_string(ToMicros(t).value_or(0)) +
           " * interval '1 microsecond')";
}

std::vector<ExistingColumn> ReadColumns(pqxx::work& tx, const std::string& qualified) {
    std::vector<ExistingColumn> out;
    for (const auto& row : tx.exec_prepared("table_columns", qualified)) {
        out.push_back(ExistingColumn{
            row[0].as<std::string>(), row[1].as<std::string>(), OptionalText(row[2])});
    }
    return out;
}

}  // namespace chatsync::sink::detail
