#include "emulator/generic/dataset.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <string_view>
#include <tuple>

#include "emulator/frame/json_writer.hpp"
#include "emulator/frame/rng.hpp"

namespace chatsync::emulator {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::uint64_t StreamSeed(std::uint64_t seed, std::int64_t id, std::uint64_t salt) {
    Rng mix(seed ^ (static_cast<std::uint64_t>(id) * 0xD1B54A32D192ED03ULL) ^ salt);
    return mix.Next();
}

/// Keeps generated doubles lexically non-integral so a consumer infers a double column.
double NonIntegral(double v) {
    return v == std::floor(v) ? v + 0.5 : v;
}

// Names mix scripts, combining marks, apostrophes, quotes and emoji (one with a ZWJ
// sequence) so that encoding bugs in a client show up as wrong rows.
constexpr std::array<std::string_view, 20> kFirstNames{
    "Zoë",  "José",      "Ana",    "Björn",  "Łukasz",  "Chloé", "Mei",
    "日本", "Алексей",   "Søren",  "Nguyễn", "محمد",    "Renée", "Émile",
    "Ravi", "Anna-Lena", "Ólafur", "Jürgen", "Siobhán", "Kai"};
constexpr std::array<std::string_view, 12> kLastNames{
    "Smith",
    "Müller",
    "García",
    "Kowalski",
    "Tanaka",
    "Иванов",
    "Ødegaard",
    "Dupont",
    "van der Berg",
    "太郎",
    "O'Brien",
    "D'Angelo"};
constexpr std::array<std::string_view, 5> kNameSuffixes{
    " 🚀",
    " 😀",
    " 🎉",
    " 👩‍💻",
    " \"Ace\""};
constexpr std::array<std::string_view, 3> kDomains{"example.com", "example.org", "example.net"};
constexpr std::array<std::string_view, 8>
    kCities{"Berlin", "São Paulo", "Zürich", "東京", "Kraków", "New York", "Montréal", "Reykjavík"};
constexpr std::array<std::string_view, 8>
    kTags{"alpha", "beta", "gamma", "vip", "trial", "enterprise", "日本語", "emoji-✨"};
constexpr std::array<std::string_view, 6> kNotes{
    "first contact",
    "multi\nline note",
    "tab\tseparated",
    "quote \" inside",
    "ünïcödé ✓",
    "back\\slash"};
constexpr std::array<std::string_view, 6> kCommentBodies{
    "Thanks for the quick reply!",
    "Can you check again?",
    "Решено, спасибо.",
    "👍 works now",
    "See attached \"log.txt\"",
    "Line one\nLine two"};

constexpr std::array<std::string_view, 5> kPlans{"free", "team", "business", "enterprise", "trial"};
constexpr std::array<std::string_view, 6>
    kLocales{"de-DE", "pt-BR", "ja-JP", "ru-RU", "fr-CA", "en-US"};
constexpr std::array<std::string_view, 6> kCompanies{
    "Müller & Söhne GmbH",
    "Açaí Ltda.",
    "株式会社テスト",
    "ООО «Ромашка»",
    "Café Crème SARL",
    "Acme, Inc."};
constexpr std::array<std::string_view, 4> kRoles{"admin", "agent", "viewer", "owner"};
constexpr std::array<std::string_view, 4> kBios{
    "Support lead for the DACH region; speaks German, English and a little 日本語. Prefers "
    "e-mail over phone ☎️.",
    "Работает с клиентами с 2019 года, отвечает за VIP-очередь и эскалации.",
    "Customer since the beta. Asked for \"dark mode\" twice 🌙 and for CSV export.",
    "Travaille à Montréal; disponible du lundi au vendredi, 9 h – 17 h (heure de l'Est)."};

/// The 19 fields that make a record wide: nested objects two levels deep, an array, a
/// nullable time, and longer unicode text.
std::string WideFields(std::uint64_t seed, std::int64_t id, SysTime created_at) {
    Rng rng(StreamSeed(seed, id, 0x77696465ULL));
    std::string out;
    out.reserve(640);
    out.append(",\"created_at\":");
    AppendJsonString(
        out, FormatIso8601(created_at - std::chrono::hours(24 * (1 + rng.Below(900))))
    );
    out.append(",\"phone\":");
    AppendJsonString(out, "+49 30 " + std::to_string(1000000 + rng.Below(9000000)));
    out.append(",\"locale\":");
    AppendJsonString(out, kLocales[rng.Below(kLocales.size())]);
    out.append(",\"verified\":");
    out.append(rng.Below(3) == 0 ? "false" : "true");
    out.append(",\"login_count\":");
    AppendJsonInt(out, static_cast<std::int64_t>(rng.Below(5000)));
    out.append(",\"last_seen_at\":");
    if (rng.Below(4) == 0) {
        out.append("null");
    } else {
        AppendJsonString(out, FormatIso8601(created_at + std::chrono::minutes(rng.Below(100000))));
    }
    out.append(",\"plan\":{\"name\":");
    AppendJsonString(out, kPlans[rng.Below(kPlans.size())]);
    out.append(",\"seats\":");
    AppendJsonInt(out, static_cast<std::int64_t>(1 + rng.Below(250)));
    out.append(",\"monthly_price\":");
    AppendJsonDouble(out, NonIntegral(rng.Uniform(0, 5000, 2)));
    out.append(",\"renews_at\":");
    AppendJsonString(
        out, FormatIso8601(created_at + std::chrono::hours(24 * (30 + rng.Below(365))))
    );
    out.append("},\"company\":{\"name\":");
    AppendJsonString(out, kCompanies[rng.Below(kCompanies.size())]);
    out.append(",\"size\":");
    AppendJsonInt(out, static_cast<std::int64_t>(1 + rng.Below(20000)));
    out.append(",\"billing\":{\"vat_id\":");
    AppendJsonString(out, "DE" + std::to_string(100000000 + rng.Below(899999999)));
    out.append(",\"country\":");
    AppendJsonString(out, kLocales[rng.Below(kLocales.size())].substr(3));
    out.append("}},\"preferences\":{\"newsletter\":");
    out.append(rng.Below(2) == 0 ? "false" : "true");
    out.append(",\"channel\":");
    AppendJsonString(out, rng.Below(2) == 0 ? "email" : "chat");
    out.append("},\"roles\":[");
    const std::size_t roles = 1 + rng.Below(3);
    for (std::size_t i = 0; i < roles; ++i) {
        if (i > 0) {
            out.push_back(',');
        }
        AppendJsonString(out, kRoles[(id + static_cast<std::int64_t>(i)) % kRoles.size()]);
    }
    out.append("],\"bio\":");
    AppendJsonString(out, kBios[rng.Below(kBios.size())]);
    out.append(",\"external_id\":");
    AppendJsonString(out, "crm-" + std::to_string(rng.Next() % 1000000000000ULL));
    return out;
}

std::string Pad5(std::uint64_t v) {
    std::string s = std::to_string(v % 100000);
    return std::string(5 - s.size(), '0') + s;
}

}  // namespace

SysTime DatasetEpoch() {
    return SysTime{std::chrono::sys_days{std::chrono::year{2024} / std::chrono::January / 1}};
}

std::string RecordJson(const Record& r) {
    std::string out;
    out.reserve(320);
    out.append("{\"id\":");
    AppendJsonInt(out, r.id);
    out.append(",\"name\":");
    AppendJsonString(out, r.name);
    out.append(",\"email\":");
    AppendJsonString(out, r.email);
    out.append(",\"updated_at\":");
    AppendJsonString(out, FormatIso8601(r.updated_at));
    out.append(",\"score\":");
    AppendJsonDouble(out, r.score);
    out.append(",\"active\":");
    out.append(r.active ? "true" : "false");
    out.append(",\"tags\":[");
    for (std::size_t i = 0; i < r.tags.size(); ++i) {
        if (i > 0) {
            out.push_back(',');
        }
        AppendJsonString(out, r.tags[i]);
    }
    out.append("],\"profile\":{\"city\":");
    if (r.city) {
        AppendJsonString(out, *r.city);
    } else {
        out.append("null");
    }
    out.append(",\"address\":{\"zip\":");
    AppendJsonString(out, r.zip);
    out.append(",\"geo\":{\"lat\":");
    AppendJsonDouble(out, r.lat);
    out.append(",\"lon\":");
    AppendJsonDouble(out, r.lon);
    out.append("}}}");
    switch (r.note_kind) {
        case Record::Note::kAbsent:
            break;
        case Record::Note::kNull:
            out.append(",\"note\":null");
            break;
        case Record::Note::kText:
            out.append(",\"note\":");
            AppendJsonString(out, r.note);
            break;
    }
    out.append(r.extra_json);
    out.push_back('}');
    return out;
}

Dataset::Dataset(Options options)
    : options_(options) {
    for (std::int64_t id = 1; id <= options_.records; ++id) {
        records_.emplace(id, Generate(id, DatasetEpoch() + seconds(id)));
    }
    max_id_ = options_.records;
    latest_ = DatasetEpoch() + seconds(options_.records);
    Reindex();
}

Record Dataset::Generate(std::int64_t id, SysTime updated_at) const {
    Rng rng(StreamSeed(options_.seed, id, 0));
    Record r;
    r.id = id;
    r.created_at = updated_at;
    r.updated_at = updated_at;
    r.base_name = std::string(kFirstNames[rng.Below(kFirstNames.size())]) + " " +
                  std::string(kLastNames[rng.Below(kLastNames.size())]);
    if (rng.Below(4) == 0) {
        r.base_name += kNameSuffixes[rng.Below(kNameSuffixes.size())];
    }
    r.name = r.base_name;
    r.email = "user" + std::to_string(id) + (rng.Below(5) == 0 ? "+news" : "") + "@" +
              std::string(kDomains[rng.Below(kDomains.size())]);
    r.score = NonIntegral(rng.Uniform(0, 1000, 2));
    r.active = rng.Below(2) == 0;
    const std::size_t tag_count = rng.Below(4);
    const std::size_t first_tag = rng.Below(kTags.size());
    for (std::size_t i = 0; i < tag_count; ++i) {
        r.tags.emplace_back(kTags[(first_tag + i * 3) % kTags.size()]);
    }
    if (rng.Below(5) != 0) {
        r.city = std::string(kCities[rng.Below(kCities.size())]);
    }
    r.zip = Pad5(rng.Next());
    r.lat = NonIntegral(rng.Uniform(-90, 90, 6));
    r.lon = NonIntegral(rng.Uniform(-180, 180, 6));
    switch (rng.Below(3)) {
        case 0:
            r.note_kind = Record::Note::kAbsent;
            break;
        case 1:
            r.note_kind = Record::Note::kNull;
            break;
        default:
            r.note_kind = Record::Note::kText;
            r.note = std::string(kNotes[rng.Below(kNotes.size())]);
    }
    if (options_.wide) {
        r.extra_json = WideFields(options_.seed, id, updated_at);
    }
    r.json = RecordJson(r);
    return r;
}

const Record* Dataset::Find(std::int64_t id) const {
    const auto it = records_.find(id);
    return it == records_.end() ? nullptr : &it->second;
}

std::span<const Record* const> Dataset::Since(std::optional<SysTime> since) const {
    std::span<const Record* const> all = ordered_;
    if (!since) {
        return all;
    }
    const auto it = std::lower_bound(
        all.begin(), all.end(), *since, [](const Record* r, SysTime t) { return r->updated_at < t; }
    );
    return all.subspan(static_cast<std::size_t>(it - all.begin()));
}

std::span<const Record* const>
Dataset::After(std::span<const Record* const> records, SysTime updated_at, std::int64_t id) {
    const auto it = std::upper_bound(
        records.begin(),
        records.end(),
        std::tie(updated_at, id),
        [](const auto& key, const Record* r) { return key < std::tie(r->updated_at, r->id); }
    );
    return records.subspan(static_cast<std::size_t>(it - records.begin()));
}

std::vector<std::int64_t> Dataset::PickSpread(std::size_t count) {
    std::vector<std::int64_t> ids;
    const std::size_t n = records_.size();
    count = std::min(count, n);
    if (count == 0) {
        return ids;
    }
    std::vector<std::int64_t> all;
    all.reserve(n);
    for (const auto& [id, record] : records_) {
        all.push_back(id);
    }
    // Picks floor(i*n/count) are at least n/count apart, so any shift below that keeps them
    // distinct and inside the range.
    const std::size_t step = n / count;
    const std::size_t shift = static_cast<std::size_t>(mutations_ % step);
    for (std::size_t i = 0; i < count; ++i) {
        ids.push_back(all[i * n / count + shift]);
    }
    return ids;
}

SysTime Dataset::NextTime(SysTime now) {
    const SysTime whole_ms = std::chrono::floor<milliseconds>(now);
    latest_ = std::max(whole_ms, latest_ + milliseconds(1));
    return latest_;
}

std::vector<std::int64_t> Dataset::Mutate(const std::vector<std::int64_t>& ids, SysTime now) {
    std::vector<std::int64_t> changed;
    for (const auto id : ids) {
        if (records_.contains(id)) {
            changed.push_back(id);
        }
    }
    std::sort(changed.begin(), changed.end());
    changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
    if (changed.empty()) {
        return changed;
    }
    ++mutations_;
    const SysTime t = NextTime(now);
    for (const auto id : changed) {
        Record& r = records_.at(id);
        ++r.revision;
        r.name = r.base_name + " (rev " + std::to_string(r.revision) + ")";
        r.score = NonIntegral(std::round((r.score * 1.07 + 3.3) * 100) / 100);
        r.updated_at = t;
        r.json = RecordJson(r);
    }
    Reindex();
    return changed;
}

bool Dataset::SetRawFields(std::int64_t id, const std::string& members) {
    const auto it = records_.find(id);
    if (it == records_.end()) {
        return false;
    }
    Record& r = it->second;
    r.extra_json = members.empty() ? std::string() : "," + members;
    r.json = RecordJson(r);
    return true;
}

std::vector<std::int64_t> Dataset::Add(std::size_t count, SysTime now) {
    std::vector<std::int64_t> added;
    if (count == 0) {
        return added;
    }
    const SysTime t = NextTime(now);
    for (std::size_t i = 0; i < count; ++i) {
        const std::int64_t id = ++max_id_;
        records_.emplace(id, Generate(id, t));
        added.push_back(id);
    }
    Reindex();
    return added;
}

std::vector<std::int64_t> Dataset::Remove(const std::vector<std::int64_t>& ids) {
    std::vector<std::int64_t> removed;
    for (const auto id : ids) {
        if (records_.erase(id) > 0) {
            removed.push_back(id);
        }
    }
    std::sort(removed.begin(), removed.end());
    if (!removed.empty()) {
        Reindex();
    }
    return removed;
}

std::vector<Comment> Dataset::Comments(const Record& record) const {
    std::vector<Comment> comments;
    const auto count = 1 + record.id % 3;
    for (std::int64_t k = 1; k <= count; ++k) {
        Rng rng(StreamSeed(options_.seed, record.id, static_cast<std::uint64_t>(k)));
        Comment c;
        c.id = std::to_string(record.id) + "-" + std::to_string(k);
        c.record_id = record.id;
        c.body = std::string(kCommentBodies[rng.Below(kCommentBodies.size())]);
        c.created_at = record.created_at + std::chrono::minutes(k);
        c.json = "{\"id\":";
        AppendJsonString(c.json, c.id);
        c.json.append(",\"record_id\":");
        AppendJsonInt(c.json, c.record_id);
        c.json.append(",\"body\":");
        AppendJsonString(c.json, c.body);
        c.json.append(",\"created_at\":");
        AppendJsonString(c.json, FormatIso8601(c.created_at));
        c.json.push_back('}');
        comments.push_back(std::move(c));
    }
    return comments;
}

void Dataset::Reindex() {
    ordered_.clear();
    ordered_.reserve(records_.size());
    for (const auto& [id, record] : records_) {
        ordered_.push_back(&record);
    }
    std::sort(ordered_.begin(), ordered_.end(), [](const Record* a, const Record* b) {
        return std::tie(a->updated_at, a->id) < std::tie(b->updated_at, b->id);
    });
}

}  // namespace chatsync::emulator
