#include "config/detail/messages.hpp"

#include <algorithm>
#include <tuple>

#include "core/text.hpp"

namespace chatsync::config::detail {

namespace {

// Optimal string alignment distance: Levenshtein plus adjacent transpositions, the most common
// typing slip ("recrods").
std::size_t EditDistance(std::string_view a, std::string_view b) {
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) {
        d[i][0] = i;
    }
    for (std::size_t j = 0; j <= b.size(); ++j) {
        d[0][j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
    }
    return d[a.size()][b.size()];
}

}  // namespace

std::string JoinPath(std::string_view base, std::string_view key) {
    if (base.empty()) {
        return std::string(key);
    }
    std::string out(base);
    out += '.';
    out += key;
    return out;
}

std::string IndexPath(std::string_view base, std::size_t i) {
    return std::string(base) + "[" + std::to_string(i) + "]";
}

std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates) {
    const std::string lowered = ToLower(word);
    // Allow roughly one slip per four characters: close enough to be a typo, far enough apart
    // that unrelated short keys are not "suggested".
    const std::size_t limit = std::max<std::size_t>(1, std::min<std::size_t>(3, word.size() / 4));
    std::string best;
    std::size_t best_distance = limit + 1;
    for (const auto& c : candidates) {
        const std::size_t d = EditDistance(lowered, ToLower(c));
        if (d < best_distance) {
            best_distance = d;
            best = c;
        }
    }
    return best;
}

std::string
DidYouMean(std::string_view word, const std::vector<std::string>& names, std::string_view label) {
    const std::string close = ClosestMatch(word, names);
    if (close.empty()) {
        return " (" + std::string(label) + ": " + JoinNames(names) + ")";
    }
    return " (did you mean '" + close + "'?)";
}

std::string JoinNames(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) {
        if (!out.empty()) {
            out += ", ";
        }
        out += n;
    }
    return out;
}

void SortByPosition(std::vector<ConfigError>& errors) {
    std::vector<std::string> files;
    for (const auto& e : errors) {
        if (std::find(files.begin(), files.end(), e.file()) == files.end()) {
            files.push_back(e.file());
        }
    }
    auto rank = [&files](const ConfigError& e) {
        return std::make_tuple(
            std::find(files.begin(), files.end(), e.file()) - files.begin(), e.line(), e.column()
        );
    };
    std::stable_sort(errors.begin(), errors.end(), [&](const ConfigError& a, const ConfigError& b) {
        return rank(a) < rank(b);
    });
}

}  // namespace chatsync::config::detail
