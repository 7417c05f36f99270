#include "sink/detail/identifier.hpp"

#include <algorithm>
#include <array>

namespace chatsync::sink::detail {

std::uint32_t Fnv1a32(std::string_view text) noexcept {
    std::uint32_t hash = 2166136261U;
    for (const char ch : text) {
        hash ^= static_cast<unsigned char>(ch);
        hash *= 16777619U;
    }
    return hash;
}

std::int64_t AdvisoryLockKey(std::string_view text) noexcept {
    std::uint64_t hash = 14695981039346656037ULL;
    for (const char ch : text) {
        hash ^= static_cast<unsigned char>(ch);
        hash *= 1099511628211ULL;
    }
    return static_cast<std::int64_t>(hash);
}

std::string_view TruncateUtf8(std::string_view text, std::size_t max_bytes) noexcept {
    if (text.size() <= max_bytes) {
        return text;
    }
    std::size_t cut = max_bytes;
    // Back off over continuation bytes (10xxxxxx) so the cut lands before a lead byte.
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) {
        --cut;
    }
    return text.substr(0, cut);
}

std::string ShortIdentifier(std::string_view name, std::string_view hash_source) {
    if (name.size() <= kMaxIdentifierBytes) {
        return std::string(name);
    }
    static constexpr std::string_view kHex = "0123456789abcdef";
    const std::uint32_t hash = Fnv1a32(hash_source);
    std::array<char, 8> digits{};
    for (std::size_t i = 0; i < digits.size(); ++i) {
        digits[digits.size() - 1 - i] = kHex[(hash >> (4 * i)) & 0xFU];
    }
    std::string out(TruncateUtf8(name, kMaxIdentifierBytes - 1 - digits.size()));
    out.push_back('_');
    out.append(digits.data(), digits.size());
    return out;
}

std::string SuffixedIdentifier(std::string_view base, int n) {
    const std::string suffix = "_" + std::to_string(n);
    std::string out(TruncateUtf8(base, kMaxIdentifierBytes - suffix.size()));
    out += suffix;
    return out;
}

std::string QuoteIdent(std::string_view name) {
    std::string out;
    out.reserve(name.size() + 2);
    out.push_back('"');
    for (const char ch : name) {
        if (ch == '"') {
            out.push_back('"');
        }
        out.push_back(ch);
    }
    out.push_back('"');
    return out;
}

std::string QualifiedName(std::string_view schema, std::string_view table) {
    return QuoteIdent(schema) + "." + QuoteIdent(table);
}

std::string QuoteLiteral(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    out.push_back('\'');
    for (const char ch : text) {
        if (ch == '\0') {
            continue;
        }
        if (ch == '\'') {
            out.push_back('\'');
        }
        out.push_back(ch);
    }
    out.push_back('\'');
    return out;
}

void AppendCopyField(std::string& out, std::string_view text) {
    // Runs without special characters, the common case, are appended whole.
    const auto special = [](char ch) {
        return ch == '\\' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\0';
    };
    while (!text.empty()) {
        const auto it = std::find_if(text.begin(), text.end(), special);
        const auto pos = static_cast<std::size_t>(it - text.begin());
        out.append(text.substr(0, pos));
        if (it == text.end()) {
            return;
        }
        switch (text[pos]) {
            case '\\':
                out += "\\\\";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                // NUL: PostgreSQL text cannot hold it; dropped.
                break;
        }
        text.remove_prefix(pos + 1);
    }
}

}  // namespace chatsync::sink::detail
