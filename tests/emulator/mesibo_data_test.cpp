// The pure core of the Mesibo mode: MySQL LIKE under both escape modes and every collation,
// the collations' equality and order, and the seeded dataset's families.

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "emulator/mesibo/data.hpp"

namespace chatsync::emulator::test {
namespace {

using C = MesiboCollation;
using E = MesiboEscapes;

struct LikeCase {
    std::string_view pattern;
    std::string_view text;
    C collation;
    E escapes;
    bool match;
};

constexpr std::array<LikeCase, 52> kLikeCases{{
    // Wildcards, in every mode.
    {"abc", "abc", C::kBinary, E::kHonoured, true},
    {"abc", "abcd", C::kBinary, E::kHonoured, false},
    {"ab%", "abcd", C::kBinary, E::kHonoured, true},
    {"%cd", "abcd", C::kBinary, E::kHonoured, true},
    {"a%c%", "abxcyy", C::kBinary, E::kHonoured, true},
    {"a_c", "abc", C::kBinary, E::kHonoured, true},
    {"a_c", "ac", C::kBinary, E::kHonoured, false},
    {"%", "", C::kBinary, E::kHonoured, true},
    {"_", "", C::kBinary, E::kHonoured, false},
    {"%", "", C::kAiCi, E::kIgnored, true},
    // `_` is one character, not one byte: é is two bytes, 📞 four.
    {"jos_", "josé", C::kBinary, E::kHonoured, true},
    {"jos__", "josé", C::kBinary, E::kHonoured, false},
    {"_ call me", "📞 call me", C::kBinary, E::kIgnored, true},
    // Honoured escapes: a backslash makes the next character literal; a trailing one is
    // itself literal.
    {"a\\_c", "a_c", C::kBinary, E::kHonoured, true},
    {"a\\_c", "abc", C::kBinary, E::kHonoured, false},
    {"100\\%", "100%", C::kBinary, E::kHonoured, true},
    {"100\\%", "1000", C::kBinary, E::kHonoured, false},
    {"a\\\\b", "a\\b", C::kBinary, E::kHonoured, true},
    {"a\\", "a\\", C::kBinary, E::kHonoured, true},
    {"support\\_%", "support-team-001", C::kBinary, E::kHonoured, false},
    {"support\\_%", "support_team_001", C::kCi, E::kHonoured, true},
    // Ignored escapes: a backslash is a character like any other, so `\_` needs a backslash
    // in the text and `_` after it stays a wildcard.
    {"a\\_c", "a_c", C::kBinary, E::kIgnored, false},
    {"a\\_c", "a\\xc", C::kBinary, E::kIgnored, true},
    {"a\\_c", "a\\_c", C::kBinary, E::kIgnored, true},
    {"100\\%", "100%", C::kBinary, E::kIgnored, false},
    {"100\\%", "100\\% and more", C::kBinary, E::kIgnored, true},
    {"a\\\\b", "a\\b", C::kBinary, E::kIgnored, false},
    {"a\\\\b", "a\\\\b", C::kBinary, E::kIgnored, true},
    {"support\\_%", "support_team_001", C::kAiCi, E::kIgnored, false},
    // Collations: binary is byte-exact, ci folds ASCII letters only, ai_ci folds accents too.
    {"ABC%", "abcdef", C::kBinary, E::kHonoured, false},
    {"ABC%", "abcdef", C::kCi, E::kHonoured, true},
    {"ABC%", "abcdef", C::kAiCi, E::kHonoured, true},
    {"é%", "élodie", C::kBinary, E::kHonoured, true},
    {"e%", "élodie", C::kBinary, E::kHonoured, false},
    {"e%", "élodie", C::kCi, E::kHonoured, false},
    {"é%", "Élodie", C::kCi, E::kHonoured, false},
    {"e%", "élodie", C::kAiCi, E::kHonoured, true},
    {"E%", "Élodie.001", C::kAiCi, E::kHonoured, true},
    {"ELODIE0%", "élodie001@example.fr", C::kAiCi, E::kIgnored, true},
    {"lucja.zak%", "Łucja.Żak000@example.pl", C::kAiCi, E::kHonoured, true},
    {"lucja.zak%", "Łucja.Żak000@example.pl", C::kCi, E::kHonoured, false},
    {"_ro%", "Ærø000@example.dk", C::kAiCi, E::kHonoured, true},
    {"æro%", "Ærø000@example.dk", C::kAiCi, E::kHonoured, true},
    {"\\Æ%", "æ", C::kAiCi, E::kHonoured, true},
    // LIKE compares character by character: Æ is one character, "ae" two, and ß is not "ss".
    {"ae%", "Ærø000@example.dk", C::kAiCi, E::kHonoured, false},
    {"a_ro%", "Ærø000@example.dk", C::kAiCi, E::kHonoured, false},
    {"strasse", "straße", C::kAiCi, E::kHonoured, false},
    {"stra_e", "straße", C::kAiCi, E::kHonoured, true},
    // Þ is a letter of its own; other scripts are not folded.
    {"th%", "þór", C::kAiCi, E::kHonoured, false},
    {"Þ%", "þór", C::kAiCi, E::kHonoured, true},
    {"я%", "Я", C::kAiCi, E::kHonoured, false},
    {"%ops%", "'ops007@example.com", C::kBinary, E::kHonoured, true},
}};

TEST(MesiboLike, FollowsMysqlUnderEveryEscapeModeAndCollation) {
    for (const auto& c : kLikeCases) {
        EXPECT_EQ(LikeMatch(c.pattern, c.text, c.collation, c.escapes), c.match)
            << c.pattern << " LIKE " << c.text << " under " << MesiboCollationName(c.collation)
            << ", escapes " << MesiboEscapesName(c.escapes);
    }
}

TEST(MesiboCollation, EqualityFoldsWholeStrings) {
    struct Case {
        std::string_view a;
        std::string_view b;
        C collation;
        bool equal;
    };

    constexpr std::array<Case, 14> kCases{{
        {"Office001@Example.COM", "office001@example.com", C::kBinary, false},
        {"Office001@Example.COM", "office001@example.com", C::kCi, true},
        {"Élodie", "élodie", C::kCi, false},
        {"Élodie", "ELODIE", C::kAiCi, true},
        // `=` expands what LIKE does not: Æ equals "ae", ß equals "ss".
        {"Ærø", "aero", C::kAiCi, true},
        {"straße", "STRASSE", C::kAiCi, true},
        {"Œuvre", "oeuvre", C::kAiCi, true},
        {"Łódź", "lodz", C::kAiCi, true},
        {"İstanbul", "istanbul", C::kAiCi, true},
        {"Yılmaz", "yilmaz", C::kAiCi, true},
        {"þór", "thor", C::kAiCi, false},
        {"ÞÓR", "þór", C::kAiCi, true},
        {"a × b", "a x b", C::kAiCi, false},
        {"sales%eu", "sales_eu", C::kAiCi, false},
    }};
    for (const auto& c : kCases) {
        EXPECT_EQ(CollatedEquals(c.a, c.b, c.collation), c.equal)
            << c.a << " = " << c.b << " under " << MesiboCollationName(c.collation);
    }
    EXPECT_EQ(CollationKey("Ærø Crew", C::kAiCi), "aero crew");
    EXPECT_EQ(CollationKey("Ærø Crew", C::kCi), "Ærø crew");
    EXPECT_EQ(CollationKey("Ærø Crew", C::kBinary), "Ærø Crew");
    EXPECT_EQ(FoldCodePoint("Ĳ", C::kAiCi), "ij");
    EXPECT_EQ(FoldCodePoint("ſ", C::kAiCi), "s");
    EXPECT_EQ(FoldCodePoint("Ŋ", C::kAiCi), "ŋ");
}

TEST(MesiboCollation, OrderFollowsTheFoldedKeys) {
    // Bytewise, "é" (0xC3 0xA9) sorts after every ASCII letter; folded, it sorts as "e".
    EXPECT_GT(CollatedCompare("élodie", "frank", C::kBinary), 0);
    EXPECT_LT(CollatedCompare("élodie", "frank", C::kAiCi), 0);
    EXPECT_LT(CollatedCompare("Team", "team", C::kBinary), 0);
    EXPECT_EQ(CollatedCompare("Team", "team", C::kCi), 0);
    EXPECT_EQ(CollatedCompare("Équipe", "equipe", C::kAiCi), 0);
}

TEST(MesiboCollation, NamesParseAndPrint) {
    for (const std::string_view name : {"binary", "ci", "ai_ci"}) {
        ASSERT_TRUE(ParseMesiboCollation(name).has_value()) << name;
        EXPECT_EQ(MesiboCollationName(*ParseMesiboCollation(name)), name);
    }
    for (const std::string_view name : {"honoured", "ignored"}) {
        ASSERT_TRUE(ParseMesiboEscapes(name).has_value()) << name;
        EXPECT_EQ(MesiboEscapesName(*ParseMesiboEscapes(name)), name);
    }
    EXPECT_FALSE(ParseMesiboCollation("utf8mb4_bin").has_value());
    EXPECT_FALSE(ParseMesiboEscapes("honored").has_value());
}

bool HasUpper(std::string_view s) {
    // ASCII capitals and the two-byte capitals of Latin-1 (Ä…Þ) and Latin Extended-A (even
    // code points up to U+0148 are capitals, Ł and Ż included).
    for (std::size_t i = 0; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 'A' && c <= 'Z') {
            return true;
        }
        if (i + 1 < s.size() && (c == 0xC3 || c == 0xC4 || c == 0xC5)) {
            const auto code = ((c & 0x1fU) << 6U) | (static_cast<unsigned char>(s[i + 1]) & 0x3fU);
            const bool latin1_upper = code >= 0xC0 && code <= 0xDE && code != 0xD7;
            const bool ext_a_upper = (code >= 0x100 && code <= 0x137 && code % 2 == 0) ||
                                     (code >= 0x139 && code <= 0x148 && code % 2 == 1) ||
                                     (code >= 0x14A && code <= 0x177 && code % 2 == 0) ||
                                     (code >= 0x179 && code <= 0x17E && code % 2 == 1);
            if (latin1_upper || ext_a_upper) {
                return true;
            }
        }
    }
    return false;
}

bool HasLower(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

bool NonAscii(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
        return static_cast<unsigned char>(c) >= 0x80;
    });
}

/// The kinds of hard addresses in a dataset.
struct Kinds {
    int percent = 0;
    int underscore = 0;
    int accented = 0;
    int leading_symbol = 0;
    int mixed_case = 0;
};

Kinds CountKinds(const MesiboDataset& data) {
    Kinds k;
    for (const auto& [uid, user] : data.users) {
        const std::string& a = user.address;
        k.percent += a.find('%') != std::string::npos ? 1 : 0;
        k.underscore += a.find('_') != std::string::npos ? 1 : 0;
        k.accented += NonAscii(a) ? 1 : 0;
        k.leading_symbol += std::string_view("#!~_%$&'").find(a.front()) != std::string::npos;
        k.mixed_case += HasUpper(a) && HasLower(a) ? 1 : 0;
    }
    return k;
}

MesiboSeed DefaultSeed(std::uint64_t seed) {
    return MesiboSeed{.users = 1000, .groups = 150, .max_members = 130, .seed = seed, .now = 0};
}

TEST(MesiboSeedData, EveryKindOfHardAddressComesByTheDozen) {
    for (const std::uint64_t seed : {1U, 2U, 42U}) {
        const MesiboDataset data = SeedMesiboDataset(DefaultSeed(seed));
        ASSERT_EQ(data.users.size(), 1000U);
        const Kinds k = CountKinds(data);
        // The shares are fixed, so the counts do not depend on the seed.
        EXPECT_EQ(k.percent, 70) << seed;      // sales%eu_ (60) and %ops (10)
        EXPECT_EQ(k.underscore, 250) << seed;  // support_team_, sales%eu_, sales_eu_, a_b_, _ops
        EXPECT_EQ(k.leading_symbol, 80) << seed;
        EXPECT_GE(k.accented, 210) << seed;  // plus first.last users with accented names
        EXPECT_GE(k.mixed_case, 100) << seed;
        std::map<char, int> symbols;
        for (const auto& [uid, user] : data.users) {
            if (user.address.find("ops") == 1) {
                ++symbols[user.address.front()];
            }
        }
        EXPECT_EQ(symbols.size(), 8U);
        for (const auto& [symbol, n] : symbols) {
            EXPECT_EQ(n, 10) << symbol;
        }
    }
}

TEST(MesiboSeedData, CrowdedFamiliesNeedEscapesAndAccentsToSplit) {
    const MesiboDataset data = SeedMesiboDataset(DefaultSeed(1));
    const auto count = [&data](std::string_view pattern, C collation, E escapes) {
        return std::count_if(data.users.begin(), data.users.end(), [&](const auto& entry) {
            return LikeMatch(pattern, entry.second.address, collation, escapes);
        });
    };
    // More than a full answer right after a prefix followed by `_`; unescaped, `_` lets the
    // hyphenated family in too.
    EXPECT_EQ(count("support\\_%", C::kBinary, E::kHonoured), 120);
    EXPECT_EQ(count("support_%", C::kBinary, E::kHonoured), 160);
    EXPECT_EQ(count("support\\_%", C::kBinary, E::kIgnored), 0);
    // `%` inside a prefix: unescaped it matches the neighbouring families.
    EXPECT_EQ(count("sales\\%eu\\_%", C::kBinary, E::kHonoured), 60);
    EXPECT_EQ(count("sales%eu_%", C::kBinary, E::kHonoured), 100);
    // `a_` matches a_b_, a.b. and ab, and more.
    EXPECT_GE(count("a_%", C::kBinary, E::kHonoured), 100);
    // More than a full answer beginning with an accented letter, and more again when the
    // accent is ignored.
    EXPECT_EQ(count("é%", C::kBinary, E::kHonoured), 110);
    EXPECT_EQ(count("elo%", C::kBinary, E::kHonoured), 0);
    EXPECT_EQ(count("elo%", C::kAiCi, E::kHonoured), 130);
    // A leading `_` or `%` matches everything when not escaped.
    EXPECT_EQ(count("\\_%", C::kBinary, E::kHonoured), 10);
    EXPECT_EQ(count("_%", C::kBinary, E::kHonoured), 1000);
    EXPECT_EQ(count("%%", C::kBinary, E::kHonoured), 1000);
    // Case: "OFFICE" matches nothing byte for byte, both Office families under ci.
    EXPECT_EQ(count("OFFICE%", C::kBinary, E::kHonoured), 0);
    EXPECT_EQ(count("OFFICE%", C::kCi, E::kHonoured), 50);
}

TEST(MesiboSeedData, AddressesAreUniqueUnderEveryCollation) {
    for (const std::uint64_t seed : {1U, 2U, 42U}) {
        const MesiboDataset data = SeedMesiboDataset(DefaultSeed(seed));
        for (const C collation : {C::kBinary, C::kCi, C::kAiCi}) {
            std::set<std::string> keys;
            for (const auto& [uid, user] : data.users) {
                EXPECT_TRUE(keys.insert(CollationKey(user.address, collation)).second)
                    << user.address << " under " << MesiboCollationName(collation);
            }
        }
    }
    // Larger datasets keep the families apart too.
    const MesiboDataset big = SeedMesiboDataset(MesiboSeed{
        .users = 5000, .groups = 0, .max_members = 0, .seed = 1, .now = 0});
    std::set<std::string> keys;
    for (const auto& [uid, user] : big.users) {
        EXPECT_TRUE(keys.insert(CollationKey(user.address, C::kAiCi)).second) << user.address;
    }
}

TEST(MesiboSeedData, GroupsVaryTheirNamesAndTheFirstHasExactlyOneHundredMembers) {
    for (const std::uint64_t seed : {1U, 2U, 42U}) {
        const MesiboDataset data = SeedMesiboDataset(DefaultSeed(seed));
        ASSERT_EQ(data.groups.size(), 150U);
        const auto& first = data.groups.begin()->second;
        EXPECT_EQ(first.members.size(), 100U) << seed;
        EXPECT_EQ(std::next(data.groups.begin())->second.members.size(), 101U) << seed;
        std::set<std::int64_t> uids;
        for (const auto& m : first.members) {
            uids.insert(m.uid);
        }
        EXPECT_EQ(uids.size(), 100U) << "members are distinct";

        int spaces = 0;
        int underscores = 0;
        int percents = 0;
        int accented = 0;
        int upper_and_lower = 0;
        for (const auto& [gid, group] : data.groups) {
            const std::string& n = group.name;
            spaces += n.find(' ') != std::string::npos ? 1 : 0;
            underscores += n.find('_') != std::string::npos ? 1 : 0;
            percents += n.find('%') != std::string::npos ? 1 : 0;
            accented += NonAscii(n) ? 1 : 0;
            upper_and_lower += HasUpper(n) && HasLower(n) ? 1 : 0;
        }
        EXPECT_GE(spaces, 100);
        EXPECT_GE(underscores, 15);
        EXPECT_GE(percents, 9);
        EXPECT_GE(accented, 25);
        EXPECT_GE(upper_and_lower, 60);
    }
}

TEST(MesiboSeedData, FlagFormsAreMixedPerRecord) {
    const MesiboDataset data = SeedMesiboDataset(DefaultSeed(1));
    std::set<bool> users;
    std::set<bool> groups;
    std::set<bool> members;
    for (const auto& [uid, user] : data.users) {
        users.insert(user.bool_flags);
    }
    for (const auto& [gid, group] : data.groups) {
        groups.insert(group.bool_flags);
        for (const auto& m : group.members) {
            members.insert(m.bool_flags);
        }
    }
    EXPECT_EQ(users.size(), 2U);
    EXPECT_EQ(groups.size(), 2U);
    EXPECT_EQ(members.size(), 2U);
}

TEST(MesiboSeedData, SmallDatasetsKeepTheShares) {
    const MesiboDataset data = SeedMesiboDataset(MesiboSeed{
        .users = 37, .groups = 9, .max_members = 20, .seed = 5, .now = 0});
    EXPECT_EQ(data.users.size(), 37U);
    EXPECT_EQ(data.groups.size(), 9U);
    EXPECT_EQ(data.groups.begin()->second.members.size(), 20U) << "clamped to max_members";
    const MesiboDataset none = SeedMesiboDataset(MesiboSeed{
        .users = 0, .groups = 3, .max_members = 10, .seed = 5, .now = 0});
    EXPECT_TRUE(none.users.empty());
    for (const auto& [gid, group] : none.groups) {
        EXPECT_TRUE(group.members.empty());
    }
}

}  // namespace
}  // namespace chatsync::emulator::test
