#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "connectors/partition.hpp"
#include "core/json.hpp"
#include "core/text.hpp"

/// @file
/// How a partitioned listing reads characters, keys and patterns, given the spec and what the
/// probes found out (see partition.hpp). Only the partition units include this.

namespace chatsync::connectors::detail {

using Finding = PartitionNotes::Finding;

/// The length of the UTF-8 sequence that starts with `lead` (1 for a stray byte).
inline std::size_t SequenceLength(unsigned char lead) {
    if (lead >= 0xF0 && lead <= 0xF4) {
        return 4;
    }
    if (lead >= 0xE0) {
        return lead <= 0xEF ? 3 : 1;
    }
    if (lead >= 0xC2) {
        return 2;
    }
    return 1;
}

/// The characters (UTF-8 sequences) of `text`, in order.
inline std::vector<std::string> Characters(std::string_view text) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t n =
            std::min(SequenceLength(static_cast<unsigned char>(text[i])), text.size() - i);
        out.emplace_back(text.substr(i, n));
        i += n;
    }
    return out;
}

inline bool Contains(std::string_view set, std::string_view c) {
    for (const auto& s : Characters(set)) {
        if (s == c) {
            return true;
        }
    }
    return false;
}

inline bool IsAsciiLetter(std::string_view c) {
    return c.size() == 1 && ((c[0] >= 'a' && c[0] <= 'z') || (c[0] >= 'A' && c[0] <= 'Z'));
}

inline std::string SwapCase(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'a' && c <= 'z') {
            c = static_cast<char>(c - 'a' + 'A');
        } else if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

/// Reads the partitions' view of the server and spec together.
class Rules {
public:
    Rules(const PartitionSpec& spec, const PartitionNotes& notes)
        : spec_(spec)
        , notes_(notes) {}

    bool Folds() const {
        return spec_.case_mode == PartitionSpec::Case::kInsensitive ||
               notes_.folds_case == Finding::kYes;
    }

    bool Same(std::string_view a, std::string_view b) const {
        return Folds() ? IEquals(a, b) : a == b;
    }

    bool In(std::string_view set, std::string_view c) const {
        for (const auto& s : Characters(set)) {
            if (Same(s, c)) {
                return true;
            }
        }
        return false;
    }

    bool NeverLiteral(std::string_view c) const { return Contains(spec_.never_literal, c); }

    bool Meta(std::string_view c) const { return Contains(spec_.metacharacters, c); }

    bool Escapes() const {
        return !spec_.escape.empty() && notes_.honours_escapes == Finding::kYes;
    }

    /// What names `c` in a pattern, or nullopt when nothing does (the catch-all covers it).
    std::optional<std::string> Piece(std::string_view c) const {
        if (NeverLiteral(c)) {
            return std::nullopt;
        }
        if (Meta(c)) {
            if (!Escapes()) {
                return std::nullopt;
            }
            return spec_.escape + std::string(c);
        }
        return std::string(c);
    }

    /// Whether `key` can be written literally (escaped as needed) in a pattern today.
    std::optional<std::string> Literal(std::string_view key) const {
        std::string out;
        for (const auto& c : Characters(key)) {
            auto piece = Piece(c);
            if (!piece) {
                return std::nullopt;
            }
            out += *piece;
        }
        return out;
    }

    /// The characters of `pattern` as literal characters (nullopt where it has the
    /// single-character wildcard).
    std::vector<std::optional<std::string>> Tokens(std::string_view pattern) const {
        std::vector<std::optional<std::string>> out;
        const auto chars = Characters(pattern);
        for (std::size_t i = 0; i < chars.size(); ++i) {
            if (!spec_.escape.empty() && chars[i] == spec_.escape && i + 1 < chars.size()) {
                out.emplace_back(chars[++i]);
            } else if (!spec_.any_char.empty() && chars[i] == spec_.any_char) {
                out.emplace_back(std::nullopt);
            } else {
                out.emplace_back(chars[i]);
            }
        }
        return out;
    }

    /// The text `pattern` stands for when it holds no wildcard position.
    std::optional<std::string> Plain(std::string_view pattern) const {
        std::string out;
        for (const auto& t : Tokens(pattern)) {
            if (!t) {
                return std::nullopt;
            }
            out += *t;
        }
        return out;
    }

    /// The characters of `key` after `pattern` when the key starts with what the pattern
    /// matches; nullopt otherwise.
    std::optional<std::vector<std::string>> After(std::string_view pattern, std::string_view key)
        const {
        const auto tokens = Tokens(pattern);
        auto chars = Characters(key);
        if (chars.size() < tokens.size()) {
            return std::nullopt;
        }
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            const auto& token = tokens[i];
            if (token && !Same(*token, chars[i])) {
                return std::nullopt;
            }
        }
        chars.erase(chars.begin(), chars.begin() + static_cast<std::ptrdiff_t>(tokens.size()));
        return chars;
    }

    /// Every character a full answer under a prefix may continue with, each once.
    std::vector<std::string> Candidates() const {
        std::vector<std::string> out;
        const auto add = [&](const std::string& c) {
            if (std::none_of(out.begin(), out.end(), [&](const auto& o) { return Same(o, c); })) {
                out.push_back(c);
            }
        };
        const auto alphabet = Characters(spec_.alphabet);
        for (const auto& c : alphabet) {
            add(c);
        }
        if (spec_.case_mode == PartitionSpec::Case::kProbe && !Folds()) {
            for (const auto& c : alphabet) {
                if (IsAsciiLetter(c)) {
                    add(SwapCase(c));
                }
            }
        }
        for (const auto& c : Characters(notes_.extra)) {
            add(c);
        }
        std::erase_if(out, [&](const std::string& c) { return In(notes_.listed, c); });
        return out;
    }

    /// Characters outside the alphabet that a literal call can name: letters come from the
    /// alphabet (in both cases when the filter does not fold) and metacharacters from the
    /// catch-all, so neither is extra.
    bool Extra(std::string_view c) const {
        const bool letters_known = spec_.case_mode != PartitionSpec::Case::kSensitive;
        return !(letters_known && IsAsciiLetter(c)) && !In(spec_.alphabet, c) && !Meta(c) &&
               !NeverLiteral(c) && !Contains(spec_.any_char, c);
    }

    const std::string& Key(const boost::json::value& record, std::string& scratch) const {
        scratch.clear();
        if (const auto* v = FindPath(record, spec_.field); v != nullptr && v->is_string()) {
            scratch = std::string(v->get_string());
        }
        return scratch;
    }

private:
    const PartitionSpec& spec_;
    const PartitionNotes& notes_;
};

/// The Latin-1 letter of the other case (U+00C0-U+00DE and U+00E0-U+00FE pair up), or `c`.
inline std::string OtherCase(const std::string& c) {
    if (c.size() != 2 || static_cast<unsigned char>(c[0]) != 0xC3) {
        return SwapCase(c);
    }
    const auto low = static_cast<unsigned char>(c[1]);
    if (low >= 0x80 && low <= 0x9E && low != 0x97) {
        return {c[0], static_cast<char>(low + 0x20)};
    }
    if (low >= 0xA0 && low <= 0xBE && low != 0xB7) {
        return {c[0], static_cast<char>(low - 0x20)};
    }
    return c;
}

}  // namespace chatsync::connectors::detail
