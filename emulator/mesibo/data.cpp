#include "emulator/mesibo/data.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

#include "core/text.hpp"
#include "emulator/frame/rng.hpp"

namespace chatsync::emulator {
namespace {

/// Bytes of the UTF-8 sequence starting with `lead`; a stray continuation byte counts as one
/// character, as MySQL would reject the string anyway.
std::size_t CodePointLength(unsigned char lead) {
    if (lead >= 0xf0) {
        return 4;
    }
    if (lead >= 0xe0) {
        return 3;
    }
    if (lead >= 0xc0) {
        return 2;
    }
    return 1;
}

std::vector<std::string_view> CodePoints(std::string_view s) {
    std::vector<std::string_view> out;
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t n =
            std::min(CodePointLength(static_cast<unsigned char>(s[i])), s.size() - i);
        out.push_back(s.substr(i, n));
        i += n;
    }
    return out;
}

struct LikeToken {
    enum class Kind { kLiteral, kOne, kAny } kind = Kind::kLiteral;
    std::string_view literal;  ///< One folded code point, for kLiteral.
};

/// A run of code points that fold alike: [first, last] → `to`.
struct Fold {
    char32_t first;
    char32_t last;
    std::string_view to;
};

// Latin-1 Supplement and Latin Extended-A letters under ai_ci. × (U+00D7) and ÷ (U+00F7) are
// not letters and stay as they are. The Unicode collation table gives Ø, Đ, Ł, Ħ, Ŧ and ı the
// weights of their base letters with a secondary difference, so an accent-insensitive
// comparison sees the base letter; Þ and Ŋ have primary weights of their own.
constexpr std::array<Fold, 49> kLatinFolds{{
    {0xC0, 0xC5, "a"},    {0xC6, 0xC6, "ae"},   {0xC7, 0xC7, "c"},   {0xC8, 0xCB, "e"},
    {0xCC, 0xCF, "i"},    {0xD0, 0xD0, "d"},    {0xD1, 0xD1, "n"},   {0xD2, 0xD6, "o"},
    {0xD8, 0xD8, "o"},    {0xD9, 0xDC, "u"},    {0xDD, 0xDD, "y"},   {0xDE, 0xDE, "þ"},
    {0xDF, 0xDF, "ss"},   {0xE0, 0xE5, "a"},    {0xE6, 0xE6, "ae"},  {0xE7, 0xE7, "c"},
    {0xE8, 0xEB, "e"},    {0xEC, 0xEF, "i"},    {0xF0, 0xF0, "d"},   {0xF1, 0xF1, "n"},
    {0xF2, 0xF6, "o"},    {0xF8, 0xF8, "o"},    {0xF9, 0xFC, "u"},   {0xFD, 0xFD, "y"},
    {0xFE, 0xFE, "þ"},    {0xFF, 0xFF, "y"},    {0x100, 0x105, "a"}, {0x106, 0x10D, "c"},
    {0x10E, 0x111, "d"},  {0x112, 0x11B, "e"},  {0x11C, 0x123, "g"}, {0x124, 0x127, "h"},
    {0x128, 0x131, "i"},  {0x132, 0x133, "ij"}, {0x134, 0x135, "j"}, {0x136, 0x138, "k"},
    {0x139, 0x142, "l"},  {0x143, 0x149, "n"},  {0x14A, 0x14B, "ŋ"}, {0x14C, 0x151, "o"},
    {0x152, 0x153, "oe"}, {0x154, 0x159, "r"},  {0x15A, 0x161, "s"}, {0x162, 0x167, "t"},
    {0x168, 0x173, "u"},  {0x174, 0x175, "w"},  {0x176, 0x178, "y"}, {0x179, 0x17E, "z"},
    {0x17F, 0x17F, "s"},
}};

constexpr std::string_view kLowerAscii = "abcdefghijklmnopqrstuvwxyz";

std::string Format(const char* pattern, std::int64_t n) {
    std::array<char, 96> buf{};
    // The patterns are the literals below, each with one integer conversion.
    std::snprintf(buf.data(), buf.size(), pattern, static_cast<long long>(n));
    return buf.data();
}

constexpr std::array<std::string_view, 12> kFirstNames{
    "Anna",
    "Ben",
    "Chiara",
    "David",
    "Elif",
    "Finn",
    "Greta",
    "Hamid",
    "Ines",
    "José",
    "Jürgen",
    "Kateryna"};
constexpr std::array<std::string_view, 10> kLastNames{
    "Schmidt",
    "Rossi",
    "Yılmaz",
    "Nowak",
    "García",
    "Müller",
    "Dubois",
    "Kowalski",
    "Silva",
    "Smith"};
constexpr std::array<std::string_view, 5> kStatuses{
    "Hey there! I am using mesibo",
    "At work",
    "Busy",
    "On holiday until Monday",
    "📞 call me"};

/// The leading symbols of the `#ops000@example.com` family, one per address in turn.
constexpr std::string_view kLeadingSymbols = "#!~_%$&'";

/// A family of generated names.
struct Family {
    enum class Kind {
        kPattern,    ///< `pattern`: printf with one integer conversion.
        kFirstLast,  ///< first.last<n>@mail.example from the name lists.
        kSymbol,     ///< A leading symbol from kLeadingSymbols, then `pattern`.
    };

    const char* pattern;
    std::int64_t share;  ///< Per mille of the records.
    std::int64_t next = 0;
    Kind kind = Kind::kPattern;
};

/// Which family each of `total` records comes from: each family gets its share, rounded by
/// largest remainder so that the counts add up, and the records are shuffled so that every
/// family spreads over the whole id range.
template <std::size_t N>
std::vector<std::size_t>
Draws(std::int64_t total, const std::array<Family, N>& families, Rng& rng) {
    std::vector<std::int64_t> counts(N);
    std::vector<std::pair<std::int64_t, std::size_t>> remainders;
    std::int64_t assigned = 0;
    for (std::size_t f = 0; f < N; ++f) {
        counts[f] = total * families[f].share / 1000;
        assigned += counts[f];
        remainders.emplace_back(-(total * families[f].share % 1000), f);
    }
    std::sort(remainders.begin(), remainders.end());
    for (std::size_t k = 0; assigned < total; ++k, ++assigned) {
        ++counts[remainders[k % N].second];
    }
    std::vector<std::size_t> order;
    order.reserve(static_cast<std::size_t>(total));
    for (std::size_t f = 0; f < N; ++f) {
        order.insert(order.end(), static_cast<std::size_t>(counts[f]), f);
    }
    for (std::size_t k = order.size(); k > 1; --k) {
        std::swap(order[k - 1], order[static_cast<std::size_t>(rng.Below(k))]);
    }
    return order;
}

template <std::size_t N>
constexpr bool SharesAddUp(const std::array<Family, N>& families) {
    std::int64_t sum = 0;
    for (const Family& f : families) {
        sum += f.share;
    }
    return sum == 1000;
}

// Each family numbers its own members from `next` on, so addresses are unique and share
// the family prefix up to the last digits. Families whose keys could meet under a
// collation are numbered apart: "Office000" and "office500" differ even under ci.
constexpr std::array<Family, 19> kUserFamilies{{
    {"user%04lld@example.com", 130},
    {"+4915112345%03lld", 120},
    {"support_team_%03lld@corp.example", 120},
    {"support-team-%03lld@corp.example", 40},
    {"", 50, 0, Family::Kind::kFirstLast},
    {"Office%03lld@Example.COM", 40},
    {"office%03lld@example.com", 10, 500},
    {"sales%%eu_%03lld@corp.example", 60},
    {"sales_eu_%03lld@corp.example", 20},
    {"sales.eu.%03lld@corp.example", 20},
    {"a_b_%03lld@example.net", 40},
    {"a.b.%03lld@example.net", 30},
    {"ab%03lld@example.net", 30},
    {"josé.müller%03lld@example.de", 35},
    {"élodie%03lld@example.fr", 110},
    {"Élodie.%03lld@example.fr", 20, 500},
    {"Ærø%03lld@example.dk", 25},
    {"Łucja.Żak%03lld@example.pl", 20},
    {"ops%03lld@example.com", 80, 0, Family::Kind::kSymbol},
}};
static_assert(SharesAddUp(kUserFamilies));

/// The family of phone numbers, whose users often have no name.
constexpr std::size_t kPhoneFamily = 1;

constexpr std::array<Family, 13> kGroupFamilies{{
    {"Team %03lld", 300},
    {"team %03lld", 60},
    {"Project Alpha %02lld", 100},
    {"support_%02lld", 80},
    {"support-%02lld", 50},
    {"Sales EU %lld", 60},
    {"100%% Sales %02lld", 60},
    {"Équipe Québec %02lld", 60},
    {"équipe %02lld", 40},
    {"ÆRØ Crew %02lld", 40},
    {"_internal_%02lld", 50},
    {"#general %02lld", 40},
    {"Müller & Söhne %02lld", 60},
}};
static_assert(SharesAddUp(kGroupFamilies));

/// ASCII lower-case, leaving UTF-8 sequences alone (addresses are stored as given).
std::string AsciiLower(std::string_view s) {
    return ToLower(s);
}

}  // namespace

constexpr std::uint32_t kOwnerFlags =
    AdminMask(MesiboAdminBit::kOwner) | AdminMask(MesiboAdminBit::kModify) |
    AdminMask(MesiboAdminBit::kRemove) | AdminMask(MesiboAdminBit::kAddUser) |
    AdminMask(MesiboAdminBit::kRemUser) | AdminMask(MesiboAdminBit::kAddAdmin) |
    AdminMask(MesiboAdminBit::kRemAdmin) | AdminMask(MesiboAdminBit::kRemOwner);

std::optional<MesiboCollation> ParseMesiboCollation(std::string_view name) {
    if (name == "binary") {
        return MesiboCollation::kBinary;
    }
    if (name == "ci") {
        return MesiboCollation::kCi;
    }
    if (name == "ai_ci") {
        return MesiboCollation::kAiCi;
    }
    return std::nullopt;
}

std::string_view MesiboCollationName(MesiboCollation collation) {
    switch (collation) {
        case MesiboCollation::kCi:
            return "ci";
        case MesiboCollation::kAiCi:
            return "ai_ci";
        case MesiboCollation::kBinary:
            break;
    }
    return "binary";
}

std::optional<MesiboEscapes> ParseMesiboEscapes(std::string_view name) {
    if (name == "honoured") {
        return MesiboEscapes::kHonoured;
    }
    if (name == "ignored") {
        return MesiboEscapes::kIgnored;
    }
    return std::nullopt;
}

std::string_view MesiboEscapesName(MesiboEscapes escapes) {
    return escapes == MesiboEscapes::kIgnored ? "ignored" : "honoured";
}

std::string_view FoldCodePoint(std::string_view code_point, MesiboCollation collation) {
    if (collation == MesiboCollation::kBinary || code_point.empty()) {
        return code_point;
    }
    if (code_point.size() == 1) {
        const char c = code_point.front();
        return c >= 'A' && c <= 'Z' ? kLowerAscii.substr(static_cast<std::size_t>(c - 'A'), 1)
                                    : code_point;
    }
    // Every folded letter is a two-byte sequence (U+0080..U+07FF).
    if (collation == MesiboCollation::kCi || code_point.size() != 2) {
        return code_point;
    }
    const auto lead = static_cast<unsigned char>(code_point[0]);
    const auto cont = static_cast<unsigned char>(code_point[1]);
    const auto code = static_cast<char32_t>(((lead & 0x1fU) << 6U) | (cont & 0x3fU));
    for (const Fold& fold : kLatinFolds) {
        if (code >= fold.first && code <= fold.last) {
            return fold.to;
        }
    }
    return code_point;
}

std::string CollationKey(std::string_view s, MesiboCollation collation) {
    if (collation == MesiboCollation::kBinary) {
        return std::string(s);
    }
    std::string key;
    key.reserve(s.size());
    for (const std::string_view point : CodePoints(s)) {
        key += FoldCodePoint(point, collation);
    }
    return key;
}

bool CollatedEquals(std::string_view a, std::string_view b, MesiboCollation collation) {
    return collation == MesiboCollation::kBinary
               ? a == b
               : CollationKey(a, collation) == CollationKey(b, collation);
}

int CollatedCompare(std::string_view a, std::string_view b, MesiboCollation collation) {
    if (collation == MesiboCollation::kBinary) {
        return a.compare(b);
    }
    return CollationKey(a, collation).compare(CollationKey(b, collation));
}

bool LikeMatch(
    std::string_view pattern,
    std::string_view text,
    MesiboCollation collation,
    MesiboEscapes escapes
) {
    std::vector<LikeToken> tokens;
    const auto pattern_points = CodePoints(pattern);
    for (std::size_t k = 0; k < pattern_points.size(); ++k) {
        const std::string_view p = pattern_points[k];
        // A trailing backslash has nothing to escape and stays literal, as in MySQL.
        if (escapes == MesiboEscapes::kHonoured && p == "\\" && k + 1 < pattern_points.size()) {
            tokens.push_back(
                {LikeToken::Kind::kLiteral, FoldCodePoint(pattern_points[++k], collation)}
            );
        } else if (p == "%") {
            tokens.push_back({LikeToken::Kind::kAny, {}});
        } else if (p == "_") {
            tokens.push_back({LikeToken::Kind::kOne, {}});
        } else {
            tokens.push_back({LikeToken::Kind::kLiteral, FoldCodePoint(p, collation)});
        }
    }
    // Character by character, as MySQL's LIKE: a character that folds to two letters (Æ)
    // matches only a pattern character that folds to the same two.
    auto points = CodePoints(text);
    for (auto& point : points) {
        point = FoldCodePoint(point, collation);
    }
    // The usual wildcard walk: on a mismatch, let the last `%` swallow one more character.
    std::size_t i = 0;
    std::size_t j = 0;
    std::size_t star = tokens.size();
    std::size_t mark = 0;
    while (i < points.size()) {
        if (j < tokens.size() &&
            (tokens[j].kind == LikeToken::Kind::kOne ||
             (tokens[j].kind == LikeToken::Kind::kLiteral && tokens[j].literal == points[i]))) {
            ++i;
            ++j;
        } else if (j < tokens.size() && tokens[j].kind == LikeToken::Kind::kAny) {
            star = j++;
            mark = i;
        } else if (star != tokens.size()) {
            j = star + 1;
            i = ++mark;
        } else {
            return false;
        }
    }
    while (j < tokens.size() && tokens[j].kind == LikeToken::Kind::kAny) {
        ++j;
    }
    return j == tokens.size();
}

MesiboUser* MesiboDataset::FindAddress(std::string_view address, MesiboCollation collation) {
    const std::string key = CollationKey(address, collation);
    for (auto& [uid, user] : users) {
        if (CollationKey(user.address, collation) == key) {
            return &user;
        }
    }
    return nullptr;
}

MesiboUser* MesiboDataset::FindUid(std::int64_t uid) {
    const auto it = users.find(uid);
    return it == users.end() ? nullptr : &it->second;
}

MesiboGroup* MesiboDataset::FindGid(std::int64_t gid) {
    const auto it = groups.find(gid);
    return it == groups.end() ? nullptr : &it->second;
}

bool MesiboDataset::RemoveUser(std::int64_t uid) {
    if (users.erase(uid) == 0) {
        return false;
    }
    // Memberships go with the user; a member row pointing at no user would list an empty
    // address, which the real join cannot produce.
    for (auto& [gid, group] : groups) {
        std::erase_if(group.members, [uid](const MesiboMember& m) { return m.uid == uid; });
    }
    return true;
}

std::size_t MesiboDataset::MemberCount() const {
    std::size_t n = 0;
    for (const auto& [gid, group] : groups) {
        n += group.members.size();
    }
    return n;
}

MesiboDataset SeedMesiboDataset(const MesiboSeed& seed) {
    MesiboDataset data;
    Rng rng(seed.seed);
    constexpr std::int64_t kDay = 86'400;
    using Kind = Family::Kind;

    auto families = kUserFamilies;
    const std::vector<std::size_t> draws = Draws(seed.users, families, rng);
    std::int64_t uid = data.next_uid;
    for (const std::size_t f : draws) {
        MesiboUser user;
        user.uid = uid;
        // Gaps, as after deletions: a client must not assume consecutive uids.
        uid += 1 + (rng.Chance(20) ? static_cast<std::int64_t>(rng.Below(4)) : 0);
        Family& family = families[f];
        const std::string first(kFirstNames[rng.Below(kFirstNames.size())]);
        const std::string last(kLastNames[rng.Below(kLastNames.size())]);
        const std::int64_t n = family.next++;
        switch (family.kind) {
            case Kind::kFirstLast:
                user.address = AsciiLower(first) + "." + AsciiLower(last) + std::to_string(n) +
                               "@mail.example";
                break;
            case Kind::kSymbol:
                user.address =
                    kLeadingSymbols[static_cast<std::size_t>(n) % kLeadingSymbols.size()] +
                    Format(family.pattern, n);
                break;
            case Kind::kPattern:
                user.address = Format(family.pattern, n);
                break;
        }
        // Phone users often never set a name.
        if (f != kPhoneFamily || rng.Chance(60)) {
            user.name = first;
            user.name.append(" ").append(last);
        }
        if (rng.Chance(40)) {
            user.status = std::string(kStatuses[rng.Below(kStatuses.size())]);
        }
        if (rng.Chance(25)) {
            user.image = "https://cdn.example.com/avatars/" + std::to_string(user.uid) + ".jpg";
        }
        user.active = rng.Chance(92);
        user.pinned = rng.Chance(2);
        user.online = rng.Chance(8);
        user.flags = rng.Chance(5) ? 1 : 0;
        user.appid = rng.Chance(70) ? "com.example.chat" : "com.example.desk";
        user.lastonline =
            seed.now - (user.online ? 0 : static_cast<std::int64_t>(rng.Below(30 * kDay)));
        user.ipaddr = static_cast<std::uint32_t>(rng.Next());
        user.string_id = rng.Chance(30);
        user.bool_flags = rng.Chance(50);
        data.users.emplace(user.uid, std::move(user));
    }
    data.next_uid = uid;

    auto group_families = kGroupFamilies;
    std::vector<std::int64_t> uids;
    uids.reserve(data.users.size());
    for (const auto& [id, user] : data.users) {
        uids.push_back(id);
    }
    const auto total_users = static_cast<std::int64_t>(uids.size());
    const std::int64_t cap = std::min(seed.max_members, total_users);
    std::int64_t gid = data.next_gid;
    const std::vector<std::size_t> group_draws = Draws(seed.groups, group_families, rng);
    for (std::int64_t n = 0; n < seed.groups; ++n) {
        MesiboGroup group;
        group.gid = gid;
        gid += 1 + (rng.Chance(15) ? static_cast<std::int64_t>(rng.Below(7)) : 0);
        Family& family = group_families[group_draws[static_cast<std::size_t>(n)]];
        group.name = Format(family.pattern, family.next++);
        group.pinned = rng.Chance(3);
        const std::uint64_t flag_pick = rng.Below(10);
        group.flags = flag_pick < 7 ? 0 : flag_pick < 9 ? 2 : 0x40;
        const auto age = static_cast<std::int64_t>(rng.Below(200 * kDay)) + kDay;
        group.ats = seed.now - age;
        // A few have run out: groupsget still lists them, with ets 0.
        if (rng.Chance(5)) {
            group.expiry = age - kDay / 2;
        }
        if (rng.Chance(30)) {
            group.status = std::string(kStatuses[rng.Below(kStatuses.size())]);
        }
        if (rng.Chance(20)) {
            group.image = "https://cdn.example.com/groups/" + std::to_string(group.gid) + ".png";
        }
        group.string_id = rng.Chance(30);
        group.bool_flags = rng.Chance(50);

        std::int64_t size = 0;
        switch (n) {
            case 0:
                size = 100;
                break;
            case 1:
                size = 101;
                break;
            case 2:
                size = seed.max_members;
                break;
            case 3:
                size = 0;
                break;
            case 4:
                size = 1;
                break;
            default:
                size = static_cast<std::int64_t>(
                    rng.Below(static_cast<std::uint64_t>(std::min<std::int64_t>(100, cap)) + 1)
                );
        }
        size = std::clamp<std::int64_t>(size, 0, cap);
        // A partial Fisher-Yates shuffle picks distinct members.
        for (std::int64_t k = 0; k < size; ++k) {
            const auto j =
                static_cast<std::size_t>(k) +
                static_cast<std::size_t>(rng.Below(static_cast<std::uint64_t>(total_users - k)));
            std::swap(uids[static_cast<std::size_t>(k)], uids[j]);
            MesiboMember member;
            member.uid = uids[static_cast<std::size_t>(k)];
            member.bool_flags = rng.Chance(50);
            if (rng.Chance(15)) {
                member.send = rng.Chance(50);
                member.list = rng.Chance(50);
            }
            if (k == 0) {
                member.aflags = kOwnerFlags;
            } else if (rng.Chance(5)) {
                member.aflags = AdminMask(MesiboAdminBit::kModify) |
                                AdminMask(MesiboAdminBit::kAddUser) |
                                AdminMask(MesiboAdminBit::kRemUser);
            }
            group.members.push_back(member);
        }
        data.groups.emplace(group.gid, std::move(group));
    }
    // Names are not unique in Mesibo: one group repeats another's name.
    if (data.groups.size() > 6) {
        auto last = std::prev(data.groups.end());
        last->second.name = std::next(data.groups.begin(), 5)->second.name;
    }
    data.next_gid = gid;
    return data;
}

}  // namespace chatsync::emulator
