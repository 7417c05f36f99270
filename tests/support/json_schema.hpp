#pragma once

#include <string>
#include <vector>

#include <boost/json/value.hpp>

/// @file
/// A validator for the subset of JSON Schema (draft 2020-12) that docs/*.schema.json use, so
/// that tests can hold the daemon's JSON output to its published schema without a package
/// from outside.

namespace chatsync::test {

/// The ways `document` breaks `schema`, one line each ("$.runs[0].tables: missing 'rows'");
/// empty when it conforms. Keywords understood: type (a name or a list of names), enum,
/// required, properties, additionalProperties (false only), items, minimum, and $ref to
/// "#/$defs/NAME"; title, description, $schema, $id and $defs are annotations. Any other
/// keyword is reported as an error, so a schema that uses more than this checks nothing
/// silently.
std::vector<std::string>
ValidateJson(const boost::json::value& document, const boost::json::value& schema);

/// ValidateJson against the schema file at `path` (read and parsed first; a file that
/// cannot be is reported as an error).
std::vector<std::string>
ValidateJsonFile(const boost::json::value& document, const std::string& path);

}  // namespace chatsync::test
