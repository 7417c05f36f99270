#include "connectors/partition.hpp"

#include <algorithm>
#include <cstdio>
#include <set>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace chatsync::connectors {
namespace {

namespace json = boost::json;
using Finding = PartitionNotes::Finding;

/// Mesibo's filter as apis/mesibo.md describes it: an exact match, or SQL LIKE when the text
/// holds `*` or `%` (`*` becoming `%`), at most `cap` rows a call in an order that has
/// nothing to do with the key. The collation and the escape rule are the server's choice.
class FakeServer {
public:
    struct Options {
        bool fold = false;    ///< ASCII case-insensitive collation.
        bool escapes = true;  ///< A backslash makes the next character literal.
        std::size_t cap = 100;
    };

    FakeServer(std::vector<std::string> keys, Options options)
        : keys_(std::move(keys))
        , options_(options) {
        // A shuffled order: the rows a capped answer holds tell nothing about the rest.
        order_.resize(keys_.size());
        std::uint64_t state = 7;
        for (std::size_t i = 0; i < keys_.size(); ++i) {
            order_[i] = i;
        }
        for (std::size_t i = keys_.size(); i > 1; --i) {
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            std::swap(order_[i - 1], order_[(state >> 33) % i]);
        }
    }

    json::array Answer(const std::string& filter) {
        ++calls_;
        std::string pattern = filter;
        const bool like = pattern.find_first_of("*%") != std::string::npos;
        std::replace(pattern.begin(), pattern.end(), '*', '%');
        json::array out;
        for (const auto i : order_) {
            const bool hit = like ? Like(pattern, keys_[i]) : Equal(pattern, keys_[i]);
            if (hit && out.size() < options_.cap) {
                out.push_back(json::object{{"address", keys_[i]}});
            }
        }
        return out;
    }

    std::size_t calls() const { return calls_; }

private:
    /// One UTF-8 character of `s` at `i`.
    static std::string_view At(std::string_view s, std::size_t i) {
        const auto lead = static_cast<unsigned char>(s[i]);
        const std::size_t n = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        return s.substr(i, std::min(n, s.size() - i));
    }

    bool Equal(std::string_view a, std::string_view b) const {
        if (a.size() != b.size()) {
            return false;
        }
        for (std::size_t i = 0; i < a.size(); ++i) {
            char x = a[i];
            char y = b[i];
            if (options_.fold) {
                x = static_cast<char>(std::tolower(static_cast<unsigned char>(x)));
                y = static_cast<char>(std::tolower(static_cast<unsigned char>(y)));
            }
            if (x != y) {
                return false;
            }
        }
        return true;
    }

    bool Like(std::string_view p, std::string_view s) const {
        if (p.empty()) {
            return s.empty();
        }
        if (p[0] == '%') {
            for (std::size_t i = 0; i <= s.size(); i += i < s.size() ? At(s, i).size() : 1) {
                if (Like(p.substr(1), s.substr(i))) {
                    return true;
                }
            }
            return false;
        }
        if (s.empty()) {
            return false;
        }
        const auto c = At(s, 0);
        if (p[0] == '_') {
            return Like(p.substr(1), s.substr(c.size()));
        }
        std::string_view want = At(p, 0);
        std::size_t used = want.size();
        if (options_.escapes && p[0] == '\\' && p.size() > 1) {
            want = At(p, 1);
            used = 1 + want.size();
        }
        return Equal(want, c) && Like(p.substr(used), s.substr(c.size()));
    }

    std::vector<std::string> keys_;
    Options options_;
    std::vector<std::size_t> order_;
    std::size_t calls_ = 0;
};

PartitionSpec MesiboSpec() {
    PartitionSpec s;
    s.field = "address";
    s.alphabet = "abcdefghijklmnopqrstuvwxyz0123456789+@.-_%";
    s.case_mode = PartitionSpec::Case::kProbe;
    s.any_char = "_";
    s.metacharacters = "%_\\";
    s.never_literal = "*";
    s.unique = true;
    s.split_at = 100;
    return s;
}

Partition
Call(std::string pattern, PartitionCall call = PartitionCall::kList, std::string probe = {}) {
    Partition p;
    p.pattern = std::move(pattern);
    p.call = call;
    p.probe = std::move(probe);
    return p;
}

struct Listing {
    std::set<std::string> found;
    std::size_t calls = 0;
    PartitionNotes notes;
};

Listing List(const PartitionSpec& spec, FakeServer& server) {
    Listing out;
    auto queue = FirstPartitions(spec);
    while (!queue.empty()) {
        const auto records = server.Answer(PartitionPattern(spec, queue.front()));
        for (const auto& r : records) {
            out.found.insert(std::string(r.at("address").as_string()));
        }
        Advance(spec, out.notes, queue, records);
        EXPECT_LT(server.calls(), 100'000U) << "the listing does not end";
        if (server.calls() >= 100'000U) {
            break;
        }
    }
    out.calls = server.calls();
    return out;
}

std::string Numbered(const char* format, int n) {
    char buf[128];
    std::snprintf(buf, sizeof buf, format, n);
    return buf;
}

/// Crowded families that share long prefixes, with metacharacters, accents, leading symbols
/// and mixed case: what a real app's addresses look like at their worst.
std::vector<std::string> HardKeys() {
    std::vector<std::string> keys;
    const auto family = [&](const char* format, int count, int from = 0) {
        for (int i = from; i < from + count; ++i) {
            keys.push_back(Numbered(format, i));
        }
    };
    family("user%04d@example.com", 300);
    family("+4915112345%03d", 250);
    family("support_team_%03d@corp.example", 70);
    family("support-team-%03d@corp.example", 50);
    family("sales%%eu_%03d@shop.example", 110);
    family("élodie.%03d@mail.example", 105);
    family("Office%03d@Example.COM", 40);
    family("office%03d@example.com", 40, 500);
    family("#tag%d@x.example", 5);
    family("!bang%d@x.example", 5);
    family("~tilde%d@x.example", 5);
    family("_lead%d@x.example", 5);
    family("%%lead%d@x.example", 5);
    family("ærø%d@x.example", 5);
    family("a_b%d@x.example", 3);
    family("a%%b%d@x.example", 3);
    keys.push_back("solo");
    keys.push_back("so");
    return keys;
}

std::set<std::string> SetOf(const std::vector<std::string>& keys) {
    return {keys.begin(), keys.end()};
}

struct Mode {
    bool fold;
    bool escapes;
};

class PartitionModes : public testing::TestWithParam<Mode> {};

TEST_P(PartitionModes, ListsEveryKeyWhateverTheServerDoesWithCaseAndEscapes) {
    const auto keys = HardKeys();
    FakeServer server(keys, {.fold = GetParam().fold, .escapes = GetParam().escapes});
    const auto listing = List(MesiboSpec(), server);
    std::vector<std::string> missing;
    for (const auto& k : keys) {
        if (!listing.found.contains(k)) {
            missing.push_back(k);
        }
    }
    EXPECT_TRUE(missing.empty()) << missing.size() << " missing, first " << missing.front();
    EXPECT_EQ(listing.notes.folds_case, GetParam().fold ? Finding::kYes : Finding::kNo);
    EXPECT_EQ(listing.notes.honours_escapes, GetParam().escapes ? Finding::kYes : Finding::kNo);
    std::printf(
        "fold=%d escapes=%d keys=%zu calls=%zu\n",
        GetParam().fold,
        GetParam().escapes,
        keys.size(),
        listing.calls
    );
}

INSTANTIATE_TEST_SUITE_P(
    Server,
    PartitionModes,
    testing::Values(Mode{true, true}, Mode{true, false}, Mode{false, true}, Mode{false, false})
);

TEST(Partition, ALongCommonPrefixCostsItsDigitsNotTheAlphabet) {
    std::vector<std::string> keys;
    for (int i = 0; i < 600; ++i) {
        keys.push_back(Numbered("+4915112345%03d", i));
    }
    for (int i = 0; i < 400; ++i) {
        keys.push_back(Numbered("user%04d@example.com", i));
    }
    FakeServer server(keys, {.fold = true, .escapes = true});
    const auto listing = List(MesiboSpec(), server);
    EXPECT_EQ(listing.found, SetOf(keys));
    // Every level below "+" names only the characters that occur there.
    EXPECT_LE(listing.calls, keys.size()) << listing.calls;
}

TEST(Partition, AnAnswerBelowTheCapIsFinal) {
    const auto spec = MesiboSpec();
    PartitionNotes notes;
    std::vector<Partition> queue{Call("a")};
    const json::array two{json::object{{"address", "a1"}}, json::object{{"address", "a2"}}};
    const auto step = Advance(spec, notes, queue, two);
    EXPECT_TRUE(queue.empty());
    EXPECT_EQ(step.added, 0U);
}

TEST(Partition, PatternsOfEachCall) {
    const auto spec = MesiboSpec();
    EXPECT_EQ(PartitionPattern(spec, Call("")), "*");
    EXPECT_EQ(PartitionPattern(spec, Call("sup\\_")), "sup\\_*");
    EXPECT_EQ(PartitionPattern(spec, Call("a_b", PartitionCall::kExact)), "a_b");
    EXPECT_EQ(PartitionPattern(spec, Call("+49", PartitionCall::kExclude, "x")), "+49*x*");
}

TEST(Partition, StopsAtTheLongestPrefix) {
    auto spec = MesiboSpec();
    spec.max_prefix = 2;
    PartitionNotes notes;
    std::vector<Partition> queue{Call("ab")};
    json::array full;
    for (int i = 0; i < 100; ++i) {
        full.push_back(json::object{{"address", Numbered("ab%d", i)}});
    }
    EXPECT_TRUE(Advance(spec, notes, queue, full).too_deep);
    EXPECT_TRUE(queue.empty());
}

TEST(Partition, RoundTripsThroughTheCheckpointAndReadsTheOlderForm) {
    Partition p = Call("sup", PartitionCall::kSplit);
    p.skip = "xyz";
    p.probed = true;
    p.exact_seen = true;
    p.chained = true;
    p.evidence = "_";
    p.frequent = "0";
    EXPECT_EQ(Partition::FromJson(p.ToJson()), p);
    EXPECT_EQ(Partition::FromJson(json::parse("[1]")), Partition{});
    const auto old = Partition::FromJson(json::parse(R"({"prefix":"support_","exact":true})"));
    EXPECT_EQ(old.pattern, "support_");
    EXPECT_EQ(old.call, PartitionCall::kExact);
    PartitionNotes notes;
    notes.folds_case = Finding::kYes;
    notes.honours_escapes = Finding::kNo;
    notes.extra = "é#";
    notes.listed = "#";
    notes.unnamed = {"a_", "sales%"};
    EXPECT_EQ(PartitionNotes::FromJson(notes.ToJson()), notes);
}

}  // namespace
}  // namespace chatsync::connectors
