#include "emulator/mesibo_data.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

#include "core/text.hpp"

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
    std::string_view literal;  ///< One code point, for kLiteral.
};

std::uint64_t Below(std::uint64_t& rng, std::uint64_t n) {
    return n == 0 ? 0 : SplitMix(rng) % n;
}

bool Percent(std::uint64_t& rng, std::uint64_t p) {
    return Below(rng, 100) < p;
}

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

/// A family of generated names: a printf pattern with one integer conversion, numbered from
/// `next` on.
struct Family {
    const char* pattern;
    std::uint64_t weight;  ///< Percent of the records drawn from this family.
    std::int64_t next = 0;
};

/// Draws a family by weight; weights that do not add up to 100 leave the rest to the last one.
template <std::size_t N>
std::size_t PickFamily(std::uint64_t& rng, const std::array<Family, N>& families) {
    std::uint64_t pick = Below(rng, 100);
    std::size_t f = 0;
    while (f + 1 < families.size() && pick >= families[f].weight) {
        pick -= families[f].weight;
        ++f;
    }
    return f;
}

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

std::uint64_t SplitMix(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

bool CollatedEquals(std::string_view a, std::string_view b, bool fold) {
    return fold ? IEquals(a, b) : a == b;
}

bool LikeMatch(std::string_view pattern, std::string_view text, bool fold) {
    std::vector<LikeToken> tokens;
    const auto pattern_points = CodePoints(pattern);
    for (std::size_t k = 0; k < pattern_points.size(); ++k) {
        const std::string_view p = pattern_points[k];
        if (p == "\\" && k + 1 < pattern_points.size()) {
            tokens.push_back({LikeToken::Kind::kLiteral, pattern_points[++k]});
        } else if (p == "%") {
            tokens.push_back({LikeToken::Kind::kAny, {}});
        } else if (p == "_") {
            tokens.push_back({LikeToken::Kind::kOne, {}});
        } else {
            tokens.push_back({LikeToken::Kind::kLiteral, p});
        }
    }
    const auto points = CodePoints(text);
    // The usual wildcard walk: on a mismatch, let the last `%` swallow one more character.
    std::size_t i = 0;
    std::size_t j = 0;
    std::size_t star = tokens.size();
    std::size_t mark = 0;
    while (i < points.size()) {
        if (j < tokens.size() && (tokens[j].kind == LikeToken::Kind::kOne ||
                                  (tokens[j].kind == LikeToken::Kind::kLiteral &&
                                   CollatedEquals(tokens[j].literal, points[i], fold)))) {
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

MesiboUser* MesiboDataset::FindAddress(std::string_view address, bool fold) {
    for (auto& [uid, user] : users) {
        if (CollatedEquals(user.address, address, fold)) {
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
    std::uint64_t rng = seed.seed;
    constexpr std::int64_t kDay = 86'400;

    // Families of addresses. Each numbers its own members from 0, so addresses are unique and
    // share the family prefix up to the last digits.
    std::array<Family, 7> families{{
        {"user%04lld@example.com", 44},
        {"+4915112345%03lld", 30},
        {"support_team_%03lld@corp.example", 6},
        {"support-team-%03lld@corp.example", 4},
        {"", 10},  // first.last<n>@mail.example
        {"Office%03lld@Example.COM", 5},
        // Numbered apart from "Office…", so that no two differ only in case.
        {"office%03lld@example.com", 1, 500},
    }};
    std::int64_t uid = data.next_uid;
    for (std::int64_t n = 0; n < seed.users; ++n) {
        MesiboUser user;
        user.uid = uid;
        // Gaps, as after deletions: a client must not assume consecutive uids.
        uid += 1 + (Percent(rng, 20) ? static_cast<std::int64_t>(Below(rng, 4)) : 0);
        const std::size_t f = PickFamily(rng, families);
        Family& family = families[f];
        const std::string first(kFirstNames[Below(rng, kFirstNames.size())]);
        const std::string last(kLastNames[Below(rng, kLastNames.size())]);
        if (f == 4) {
            user.address = AsciiLower(first) + "." + AsciiLower(last) +
                           std::to_string(family.next++) + "@mail.example";
        } else {
            user.address = Format(family.pattern, family.next++);
        }
        // Phone users often never set a name.
        if (f != 1 || Percent(rng, 60)) {
            user.name = first + " " + last;
        }
        if (Percent(rng, 40)) {
            user.status = std::string(kStatuses[Below(rng, kStatuses.size())]);
        }
        if (Percent(rng, 25)) {
            user.image = "https://cdn.example.com/avatars/" + std::to_string(user.uid) + ".jpg";
        }
        user.active = Percent(rng, 92);
        user.pinned = Percent(rng, 2);
        user.online = Percent(rng, 8);
        user.flags = Percent(rng, 5) ? 1 : 0;
        user.appid = Percent(rng, 70) ? "com.example.chat" : "com.example.desk";
        user.lastonline =
            seed.now - (user.online ? 0 : static_cast<std::int64_t>(Below(rng, 30 * kDay)));
        user.ipaddr = static_cast<std::uint32_t>(SplitMix(rng));
        user.string_id = Percent(rng, 30);
        data.users.emplace(user.uid, std::move(user));
    }
    data.next_uid = uid;

    std::array<Family, 6> group_families{{
        {"Team %03lld", 50},
        {"Project Alpha %02lld", 20},
        {"support_%02lld", 8},
        {"support-%02lld", 5},
        {"Sales EU %lld", 10},
        {"team %03lld", 7},
    }};
    std::vector<std::int64_t> uids;
    uids.reserve(data.users.size());
    for (const auto& [id, user] : data.users) {
        uids.push_back(id);
    }
    const auto total_users = static_cast<std::int64_t>(uids.size());
    const std::int64_t cap = std::min(seed.max_members, total_users);
    std::int64_t gid = data.next_gid;
    for (std::int64_t n = 0; n < seed.groups; ++n) {
        MesiboGroup group;
        group.gid = gid;
        gid += 1 + (Percent(rng, 15) ? static_cast<std::int64_t>(Below(rng, 7)) : 0);
        Family& family = group_families[PickFamily(rng, group_families)];
        group.name = Format(family.pattern, family.next++);
        group.pinned = Percent(rng, 3);
        const std::uint64_t flag_pick = Below(rng, 10);
        group.flags = flag_pick < 7 ? 0 : flag_pick < 9 ? 2 : 0x40;
        const auto age = static_cast<std::int64_t>(Below(rng, 200 * kDay)) + kDay;
        group.ats = seed.now - age;
        // A few have run out: groupsget still lists them, with ets 0.
        if (Percent(rng, 5)) {
            group.expiry = age - kDay / 2;
        }
        if (Percent(rng, 30)) {
            group.status = std::string(kStatuses[Below(rng, kStatuses.size())]);
        }
        if (Percent(rng, 20)) {
            group.image = "https://cdn.example.com/groups/" + std::to_string(group.gid) + ".png";
        }
        group.string_id = Percent(rng, 30);

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
                    Below(rng, static_cast<std::uint64_t>(std::min<std::int64_t>(100, cap)) + 1)
                );
        }
        size = std::clamp<std::int64_t>(size, 0, cap);
        // A partial Fisher-Yates shuffle picks distinct members.
        for (std::int64_t k = 0; k < size; ++k) {
            const auto j =
                static_cast<std::size_t>(k) +
                static_cast<std::size_t>(Below(rng, static_cast<std::uint64_t>(total_users - k)));
            std::swap(uids[static_cast<std::size_t>(k)], uids[j]);
            MesiboMember member;
            member.uid = uids[static_cast<std::size_t>(k)];
            if (Percent(rng, 15)) {
                member.send = Percent(rng, 50);
                member.list = Percent(rng, 50);
            }
            if (k == 0) {
                member.aflags = kOwnerFlags;
            } else if (Percent(rng, 5)) {
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
