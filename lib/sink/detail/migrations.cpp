#include "sink/detail/migrations.hpp"

#include <algorithm>
#include <stdexcept>

namespace chatsync::sink::detail {

std::optional<Migration> ParseMigrationName(std::string_view file_name) {
    constexpr std::string_view kSuffix = ".sql";
    if (file_name.size() <= kSuffix.size() ||
        file_name.substr(file_name.size() - kSuffix.size()) != kSuffix) {
        return std::nullopt;
    }
    const std::string_view stem = file_name.substr(0, file_name.size() - kSuffix.size());
    const std::size_t underscore = stem.find('_');
    if (underscore == 0 || underscore == std::string_view::npos || underscore + 1 == stem.size() ||
        underscore > 9) {
        return std::nullopt;
    }
    int version = 0;
    for (const char ch : stem.substr(0, underscore)) {
        if (ch < '0' || ch > '9') {
            return std::nullopt;
        }
        version = version * 10 + (ch - '0');
    }
    if (version <= 0) {
        return std::nullopt;
    }
    return Migration{version, std::string(stem.substr(underscore + 1)), {}};
}

std::vector<Migration> KnownMigrations() {
    std::vector<Migration> out;
    for (const auto& [file, sql] : EmbeddedMigrations()) {
        auto parsed = ParseMigrationName(file);
        if (!parsed) {
            throw std::logic_error("malformed migration file name: " + std::string(file));
        }
        parsed->sql = sql;
        out.push_back(std::move(*parsed));
    }
    std::sort(out.begin(), out.end(), [](const Migration& a, const Migration& b) {
        return a.version < b.version;
    });
    for (std::size_t i = 1; i < out.size(); ++i) {
        if (out[i].version == out[i - 1].version) {
            throw std::logic_error(
                "two migrations share version " + std::to_string(out[i].version)
            );
        }
    }
    return out;
}

}  // namespace chatsync::sink::detail
