#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

/// @file
/// The data behind the Mesibo mode (see /work/shared/apis/mesibo.md): users, groups and
/// memberships of one app, the seeded generator, and the MySQL LIKE matching the backend's
/// `*` wildcards turn into. No I/O here; the mode owns one MesiboDataset.

namespace chatsync::emulator {

/// How the backend's address and name columns compare, in exact filters, LIKE filters,
/// lookups and ORDER BY (--mesibo-collation). The notes name no collation.
enum class MesiboCollation {
    kBinary,  ///< Byte-exact (utf8mb4_bin).
    kCi,      ///< ASCII letters ignore case; every other byte is exact.
    /// Case- and accent-insensitive, after MySQL 8's utf8mb4_0900_ai_ci: see FoldCodePoint.
    kAiCi,
};

/// Whether a backslash in a LIKE pattern escapes the next character (--mesibo-escapes).
enum class MesiboEscapes {
    kHonoured,  ///< MySQL's default: a backslash before `_` makes it a literal `_`.
    kIgnored,   ///< As under NO_BACKSLASH_ESCAPES: a backslash is an ordinary character.
};

/// "binary", "ci", "ai_ci"; nullopt for anything else.
std::optional<MesiboCollation> ParseMesiboCollation(std::string_view name);
std::string_view MesiboCollationName(MesiboCollation collation);
/// "honoured", "ignored"; nullopt for anything else.
std::optional<MesiboEscapes> ParseMesiboEscapes(std::string_view name);
std::string_view MesiboEscapesName(MesiboEscapes escapes);

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
    bool bool_flags = false;        ///< active/pinned/online as true/false (--mesibo-flags).
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
    bool bool_flags = false;   ///< can* as true/false under --mesibo-flags mixed.
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
    bool string_id = false;   ///< Written as `"gid":"102529"` under --mesibo-ids mixed.
    bool bool_flags = false;  ///< pinned as true/false under --mesibo-flags mixed.
    /// In insertion order: groupgetmembers has no ORDER BY, so rows come in table order.
    std::vector<MesiboMember> members;
};

/// Everything of one app.
struct MesiboDataset {
    std::map<std::int64_t, MesiboUser> users;    ///< By uid.
    std::map<std::int64_t, MesiboGroup> groups;  ///< By gid.
    std::int64_t next_uid = 5300;
    std::int64_t next_gid = 102'500;

    /// The user whose address equals `address` under `collation`, or nullptr.
    MesiboUser* FindAddress(std::string_view address, MesiboCollation collation);
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

/// A deterministic dataset: the same MesiboSeed gives the same data. Users are drawn from
/// address families in fixed shares (per mille of `users`, rounded), in a seeded order, each
/// family numbered from its own start. At the default 1000 users:
///
/// | family | users | what makes it hard |
/// | --- | --- | --- |
/// | `user0000@example.com` | 130 | a long shared prefix |
/// | `+4915112345000` | 120 | a long shared prefix, digits only |
/// | `support_team_000@corp.example` | 120 | crowded, `_` right after the prefix `support` |
/// | `support-team-000@corp.example` | 40 | what an unescaped `support_…` also matches |
/// | `first.last0@mail.example` | 50 | names with accents (`josé.garcía3@…`) and `ı` |
/// | `Office000@Example.COM` | 40 | mixed case |
/// | `office500@example.com` | 10 | the same prefix under ci |
/// | `sales%eu_000@corp.example` | 60 | `%` and `_` inside the prefix |
/// | `sales_eu_000@…`, `sales.eu.000@…` | 20 each | what `sales%eu_` also matches |
/// | `a_b_000@example.net` | 40 | `a_` also matches the next two |
/// | `a.b.000@example.net`, `ab000@…` | 30 each | |
/// | `josé.müller000@example.de` | 35 | accents inside |
/// | `élodie000@example.fr` | 110 | crowded, begins with an accented letter |
/// | `Élodie.500@example.fr` | 20 | an accented capital |
/// | `Ærø000@example.dk` | 25 | Æ, one character that folds to "ae" |
/// | `Łucja.Żak000@example.pl` | 20 | Latin Extended-A capitals |
/// | `#ops000@example.com` … | 80 | a leading `#!~_%$&'` (10 each) |
///
/// No two addresses are equal under any collation, ai_ci included. Group names vary the same
/// way (`Team 000`, `team 000`, `support_00`, `support-00`, `100% Sales 00`, `Équipe Québec
/// 00`, `ÆRØ Crew 00`, `_internal_00`, `#general 00`, `Müller & Söhne 00`, ...) and need not be
/// unique. The first group has exactly 100 members, the second 101, the third `max_members`.
MesiboDataset SeedMesiboDataset(const MesiboSeed& seed);

/// The text `collation` compares one UTF-8 character (code point) as: a view of the argument
/// or of static storage. binary: the character itself; ci: ASCII letters lower-cased; ai_ci:
/// also every letter of Latin-1 Supplement and Latin Extended-A folded to its lower-case base
/// letter (é, É, ę → "e"; Ø → "o"; Ł → "l"; ı, İ → "i"; ſ → "s"), ligatures and ß expanded
/// (Æ → "ae", Œ → "oe", Ĳ → "ij", ß → "ss"), and Þ, Ŋ kept as letters of their own (only
/// lower-cased), as the Unicode collation table behind utf8mb4_0900_ai_ci has them; other
/// scripts are left as they are.
std::string_view FoldCodePoint(std::string_view code_point, MesiboCollation collation);

/// The key `collation` compares whole strings by (`=`, uniqueness, ORDER BY): the folds of
/// every character, concatenated. Under ai_ci "Ærø" and "AERO" have the same key.
std::string CollationKey(std::string_view s, MesiboCollation collation);

/// Equality under `collation` (`=`: with expansions, so "Æ" = "ae" under ai_ci).
bool CollatedEquals(std::string_view a, std::string_view b, MesiboCollation collation);

/// ORDER BY under `collation`: <0, 0, >0.
int CollatedCompare(std::string_view a, std::string_view b, MesiboCollation collation);

/// MySQL LIKE: `%` matches any run of characters, `_` exactly one character (a UTF-8 code
/// point), and with `escapes` honoured a backslash makes the next character literal (a
/// trailing one is itself literal). As in MySQL, LIKE compares character by character: under
/// ai_ci `é` matches `e`, but `Æ` (one character) does not match `ae` (two), while `=` holds.
bool LikeMatch(
    std::string_view pattern,
    std::string_view text,
    MesiboCollation collation,
    MesiboEscapes escapes
);

}  // namespace chatsync::emulator
