#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pqxx/pqxx>

#include "sink/detail/table_plan.hpp"
#include "sink/sink.hpp"

/// @file
/// Values as they cross the libpqxx boundary: times as microseconds, optional text, literals
/// built into SQL, and the rows the state tables return.

namespace chatsync::sink::detail {

/// Server messages span lines ("ERROR: ...\nDETAIL: ..."); error texts are one line.
std::string OneLine(std::string_view text);

std::optional<TimePoint> FromMicros(const pqxx::field& f);

std::optional<long long> ToMicros(const std::optional<TimePoint>& t);

/// NULL for an empty string.
std::optional<std::string> NullIfEmpty(const std::string& s);

std::optional<std::string> OptionalText(const pqxx::field& f);

/// A row of load_state.sql or list_states.sql.
ResourceState StateFromRow(const pqxx::row& row);

/// resource_state.last_tables (migration 0007): a JSON array of
/// {"schema", "table", "written", "unchanged", "deleted"}.
std::string TablesJson(const std::vector<TableCounts>& tables);

/// The inverse of TablesJson. Throws SinkFailure for text it did not write.
std::vector<TableCounts> TablesFromJson(std::string_view text);

/// This host's name, for the run log; empty when unknown.
std::string HostName();

/// `{1,2,3}`: a bigint[] literal.
std::string ArrayLiteral(const std::vector<std::int64_t>& values);

/// `text` as a text column accepts it: NUL bytes dropped, and every byte that does not start a
/// well-formed UTF-8 sequence replaced by U+FFFD. For the labels stored next to an event
/// (channel, event name and type), which must never keep the event itself from being stored.
std::string ValidText(std::string_view text);

/// Whether `text` is well-formed UTF-8 (NUL bytes included).
bool IsUtf8(std::string_view text) noexcept;

/// A point in time as an SQL timestamptz expression, exact to the microsecond.
std::string TimestampSql(TimePoint t);

/// The live columns of `qualified` (prepared table_columns); empty when it does not exist.
std::vector<ExistingColumn> ReadColumns(pqxx::work& tx, const std::string& qualified);

}  // namespace chatsync::sink::detail
