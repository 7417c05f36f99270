#pragma once

#include <optional>
#include <string>

#include <boost/json/fwd.hpp>

#include "connectors/spec.hpp"
#include "core/time.hpp"

/// @file
/// Incremental cursor values: reading them from records, comparing, storing and writing them
/// into requests.

namespace chatsync::connectors {

/// A cursor position: a point in time, or a number.
struct CursorValue {
    bool is_time = true;
    SysTime time{};
    double number = 0;

    /// The stored form: ISO-8601 UTC for times, the decimal number otherwise.
    std::string Canonical() const;

    friend bool operator<(const CursorValue& a, const CursorValue& b) {
        return a.is_time ? a.time < b.time : a.number < b.number;
    }
};

/// Reads a record's cursor field written in `format` (with `pattern` for kCustom). Strings
/// holding numbers are accepted for numeric formats, and ISO-8601 is accepted as a fallback
/// for custom patterns. nullopt when the value cannot be read.
std::optional<CursorValue>
ReadCursor(const boost::json::value& v, CursorFormat format, const std::string& pattern);

/// The record's cursor: its cursor field read in the spec's record format, if it has one.
std::optional<CursorValue>
RecordCursor(const IncrementalSpec& spec, const boost::json::value& record);

/// Parses a stored (canonical) cursor or a configured initial value in `format`.
std::optional<CursorValue>
ParseCursorText(const std::string& text, CursorFormat format, const std::string& pattern);

/// Writes a cursor for a request in `format`.
std::string FormatCursor(const CursorValue& c, CursorFormat format, const std::string& pattern);

/// The incremental window's start: the committed cursor minus the lookback (times only), or
/// the initial value when nothing is committed yet. nullopt: no lower bound.
std::optional<CursorValue>
WindowStart(const IncrementalSpec& spec, const std::optional<std::string>& committed);

}  // namespace chatsync::connectors
