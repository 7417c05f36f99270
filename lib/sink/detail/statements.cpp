#include "sink/detail/statements.hpp"

#include <stdexcept>

namespace chatsync::sink::detail {
namespace {

/// The file name without `.sql`.
std::string Stem(std::string_view file) {
    constexpr std::string_view kSuffix = ".sql";
    if (file.size() > kSuffix.size() && file.substr(file.size() - kSuffix.size()) == kSuffix) {
        file.remove_suffix(kSuffix.size());
    }
    return std::string(file);
}

}  // namespace

std::string Expand(std::string_view sql, std::string_view quoted_schema) {
    std::string out;
    out.reserve(sql.size() + 16);
    constexpr std::string_view kToken = "{s}";
    std::size_t pos = 0;
    while (true) {
        const std::size_t at = sql.find(kToken, pos);
        out.append(sql.substr(pos, at - pos));
        if (at == std::string_view::npos) {
            break;
        }
        out.append(quoted_schema);
        pos = at + kToken.size();
    }
    return out;
}

Statements::Statements(std::string quoted_state_schema)
    : quoted_state_schema_(std::move(quoted_state_schema)) {
    for (const auto& [file, sql] : EmbeddedSql()) {
        texts_.emplace_back(Stem(file), Expand(sql));
    }
    for (const auto& [file, sql] : EmbeddedPreparedSql()) {
        prepared_.emplace_back(Stem(file), Expand(sql));
    }
}

const std::string& Statements::Text(std::string_view name) const {
    for (const auto& [stem, text] : texts_) {
        if (stem == name) {
            return text;
        }
    }
    throw std::logic_error("no SQL file sql/" + std::string(name) + ".sql in this binary");
}

std::string Statements::Expand(std::string_view text) const {
    return detail::Expand(text, quoted_state_schema_);
}

}  // namespace chatsync::sink::detail
