#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

/// @file
/// The data behind the Mesibo mode (see /work/shared/apis/mesibo.md): users, groups and
/// memberships of one app, the seeded generator, and the MySQL LIKE matching the backend's
/// `*` wildcards turn into. No I/O here; the mode owns one MesiboDataset.

namespace chatsync::emulator {

/// A user as the backend's `users` table holds it.
struct MesiboUser {
    std::int64_t uid = 0;
    std::string address;
    std::string name;    ///< profile.name
    std::string status;  ///< profile.status
    std::string image;   ///< profile.image
    bool active = true;
    bool pinned = false;
    bool online = false;  ///< `regaddr` set: usersget lists online users first.
    std::int64_t flags = 0;
    std::string appid;              ///< App id of the user's last token.
    std::int64_t lastonline = 0;    ///< Unix seconds; usersget writes the seconds since.
    std::uint32_t ipaddr = 0;       ///< IPv4 as uint32, as written.
    bool string_id = false;         ///< Written as `"uid":"5302"` under --mesibo-ids mixed.
    std::string token;              ///< Access token; empty when none was generated.
    std::int64_t token_cts = 0;     ///< Unix seconds the token was generated.
    std::int64_t token_expiry = 0;  ///< Minutes.
};

/// Admin bits of a membership's `aflags` (mesibo.md 2.11).
enum class MesiboAdminBit : std::uint8_t {
    kModify = 0,
    kAddUser = 4,
    kRemUser = 5,
    kAddAdmin = 6,
    kRemAdmin = 7,
    kRemOwner = 8,
    kRemove = 9,
    kOwner = 12,
};

constexpr std::uint32_t AdminMask(MesiboAdminBit bit) {
    return 1U << static_cast<unsigned>(bit);
}

/// One member of a group.
struct MesiboMember {
    std::int64_t uid = 0;
    bool send = true;
    bool recv = true;
    bool pub = true;
    bool sub = true;
    bool list = true;
    std::uint32_t aflags = 0;  ///< Admin bits (MesiboAdminBit); 0 for a plain member.
};

/// A group as the backend's `groups` table holds it, with its members.
struct MesiboGroup {
    std::int64_t gid = 0;
    std::string name;  ///< Names need not be unique.
    std::int64_t flags = 0;
    bool pinned = false;
    bool active = true;
    std::int64_t ats = 0;              ///< Unix seconds the group was created.
    std::int64_t expiry = 31'536'000;  ///< Seconds after `ats`; groupsget writes the rest as `ets`.
    std::int64_t expiryext = 0;
    std::int64_t type = 0;
    std::int64_t sflags = 263;
    std::string profile_name;
    std::string status;
    std::string image;
    std::string info;
    bool string_id = false;  ///< Written as `"gid":"102529"` under --mesibo-ids mixed.
    /// In insertion order: groupgetmembers has no ORDER BY, so rows come in table order.
    std::vector<MesiboMember> members;
};

/// Everything of one app.
struct MesiboDataset {
    std::map<std::int64_t, MesiboUser> users;    ///< By uid.
    std::map<std::int64_t, MesiboGroup> groups;  ///< By gid.
    std::int64_t next_uid = 5300;
    std::int64_t next_gid = 102'500;

    /// The user with this address (exact, or ASCII case-insensitive with `fold`), or nullptr.
    MesiboUser* FindAddress(std::string_view address, bool fold);
    MesiboUser* FindUid(std::int64_t uid);
    MesiboGroup* FindGid(std::int64_t gid);
    /// Removes the user and its memberships; false when there is no such user.
    bool RemoveUser(std::int64_t uid);
    std::size_t MemberCount() const;
};

/// What SeedMesiboDataset generates.
struct MesiboSeed {
    std::int64_t users = 1000;
    std::int64_t groups = 150;
    /// Largest group. Group sizes vary from 0 up to 100; the first groups have exactly 100,
    /// 101 and `max_members` members (each clamped to this and to the number of users).
    std::int64_t max_members = 130;
    std::uint64_t seed = 1;
    std::int64_t now = 0;  ///< Unix seconds; creation and last-online times lie before it.
};

/// A deterministic dataset: the same MesiboSeed gives the same data. Addresses come in
/// families that share long prefixes (`user0042@example.com`, `+4915112345042`,
/// `support_team_007@corp.example` next to `support-team-007@…`, mixed-case `Office…`), so
/// that listing everything through 100-row wildcard queries needs several levels of prefix
/// splitting, and `_` in a prefix matches more than the prefix.
MesiboDataset SeedMesiboDataset(const MesiboSeed& seed);

/// MySQL LIKE: `%` matches any run of characters, `_` one character (a UTF-8 code point), and
/// a backslash makes the next character literal. With `fold`, ASCII letters match either case
/// (a case-insensitive collation).
bool LikeMatch(std::string_view pattern, std::string_view text, bool fold);

/// Equality under the same collation as LikeMatch.
bool CollatedEquals(std::string_view a, std::string_view b, bool fold);

/// splitmix64: the same sequence on every platform, unlike the std distributions.
std::uint64_t SplitMix(std::uint64_t& state);

}  // namespace chatsync::emulator
