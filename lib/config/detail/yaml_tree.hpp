#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config.hpp"

/// @file
/// A YAML document copied into plain values, so that the validating readers never touch
/// yaml-cpp (which stays in yaml_tree.cpp) and can pass nodes around by reference safely.

namespace chatsync::config::detail {

/// A 1-based position in the source text; 0 means unknown.
struct Mark {
    int line = 0;
    int column = 0;
    /// The file the node was written in, when it is not the file being read (a
    /// source_template's nodes, copied into each source file); empty: that file.
    std::string file;
};

struct MapEntry;

/// One YAML node. Aliases are expanded into copies.
struct YamlNode {
    enum class Kind { kNull, kScalar, kSequence, kMapping };

    Kind kind = Kind::kNull;
    /// The scalar's text (kScalar only).
    std::string scalar;
    /// True for a plain (unquoted, non-block) scalar without an explicit tag: the only kind
    /// that YAML resolves to numbers, booleans and null.
    bool plain = false;
    /// An explicit tag as resolved by the parser ("tag:yaml.org,2002:str"), or "".
    std::string tag;
    Mark mark;
    std::vector<MapEntry> entries;
    std::vector<YamlNode> items;

    bool IsNull() const { return kind == Kind::kNull; }

    bool IsScalar() const { return kind == Kind::kScalar; }

    bool IsSequence() const { return kind == Kind::kSequence; }

    bool IsMapping() const { return kind == Kind::kMapping; }
};

struct MapEntry {
    YamlNode key;
    YamlNode value;
};

/// "a mapping", "a list", "a string", "null": for messages.
std::string_view KindName(const YamlNode& node);

/// Parses the first document of `text`. On a syntax error returns the ConfigError located at
/// the parser's mark instead. `file` names the text in that error.
std::variant<YamlNode, ConfigError> ParseYaml(const std::string& text, const std::string& file);

}  // namespace chatsync::config::detail
