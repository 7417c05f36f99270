#include "connectors/partition.hpp"

#include <algorithm>
#include <optional>

#include "core/json.hpp"
#include "core/text.hpp"

namespace chatsync::connectors {
namespace json = boost::json;

namespace {

using Finding = PartitionNotes::Finding;

/// The length of the UTF-8 sequence that starts with `lead` (1 for a stray byte).
std::size_t SequenceLength(unsigned char lead) {
    if (lead >= 0xF0 && lead <= 0xF4) {
        return 4;
    }
    if (lead >= 0xE0) {
        return lead <= 0xEF ? 3 : 1;
    }
    if (lead >= 0xC2) {
        return 2;
    }
    return 1;
}

/// The characters (UTF-8 sequences) of `text`, in order.
std::vector<std::string> Characters(std::string_view text) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t n =
            std::min(SequenceLength(static_cast<unsigned char>(text[i])), text.size() - i);
        out.emplace_back(text.substr(i, n));
        i += n;
    }
    return out;
}

bool Contains(std::string_view set, std::string_view c) {
    for (const auto& s : Characters(set)) {
        if (s == c) {
            return true;
        }
    }
    return false;
}

bool IsAsciiLetter(std::string_view c) {
    return c.size() == 1 && ((c[0] >= 'a' && c[0] <= 'z') || (c[0] >= 'A' && c[0] <= 'Z'));
}

std::string SwapCase(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        if (c >= 'a' && c <= 'z') {
            c = static_cast<char>(c - 'a' + 'A');
        } else if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

/// Reads the partitions' view of the server and spec together.
class Rules {
public:
    Rules(const PartitionSpec& spec, const PartitionNotes& notes)
        : spec_(spec)
        , notes_(notes) {}

    bool Folds() const {
        return spec_.case_mode == PartitionSpec::Case::kInsensitive ||
               notes_.folds_case == Finding::kYes;
    }

    bool Same(std::string_view a, std::string_view b) const {
        return Folds() ? IEquals(a, b) : a == b;
    }

    bool In(std::string_view set, std::string_view c) const {
        for (const auto& s : Characters(set)) {
            if (Same(s, c)) {
                return true;
            }
        }
        return false;
    }

    bool NeverLiteral(std::string_view c) const { return Contains(spec_.never_literal, c); }

    bool Meta(std::string_view c) const { return Contains(spec_.metacharacters, c); }

    bool Escapes() const {
        return !spec_.escape.empty() && notes_.honours_escapes == Finding::kYes;
    }

    /// What names `c` in a pattern, or nullopt when nothing does (the catch-all covers it).
    std::optional<std::string> Piece(std::string_view c) const {
        if (NeverLiteral(c)) {
            return std::nullopt;
        }
        if (Meta(c)) {
            if (!Escapes()) {
                return std::nullopt;
            }
            return spec_.escape + std::string(c);
        }
        return std::string(c);
    }

    /// Whether `key` can be written literally (escaped as needed) in a pattern today.
    std::optional<std::string> Literal(std::string_view key) const {
        std::string out;
        for (const auto& c : Characters(key)) {
            auto piece = Piece(c);
            if (!piece) {
                return std::nullopt;
            }
            out += *piece;
        }
        return out;
    }

    /// The characters of `pattern` as literal characters (nullopt where it has the
    /// single-character wildcard).
    std::vector<std::optional<std::string>> Tokens(std::string_view pattern) const {
        std::vector<std::optional<std::string>> out;
        const auto chars = Characters(pattern);
        for (std::size_t i = 0; i < chars.size(); ++i) {
            if (!spec_.escape.empty() && chars[i] == spec_.escape && i + 1 < chars.size()) {
                out.emplace_back(chars[++i]);
            } else if (!spec_.any_char.empty() && chars[i] == spec_.any_char) {
                out.emplace_back(std::nullopt);
            } else {
                out.emplace_back(chars[i]);
            }
        }
        return out;
    }

    /// The text `pattern` stands for when it holds no wildcard position.
    std::optional<std::string> Plain(std::string_view pattern) const {
        std::string out;
        for (const auto& t : Tokens(pattern)) {
            if (!t) {
                return std::nullopt;
            }
            out += *t;
        }
        return out;
    }

    /// The characters of `key` after `pattern` when the key starts with what the pattern
    /// matches; nullopt otherwise.
    std::optional<std::vector<std::string>> After(std::string_view pattern, std::string_view key)
        const {
        const auto tokens = Tokens(pattern);
        auto chars = Characters(key);
        if (chars.size() < tokens.size()) {
            return std::nullopt;
        }
        for (std::size_t i = 0; i < tokens.size(); ++i) {
            if (tokens[i] && !Same(*tokens[i], chars[i])) {
                return std::nullopt;
            }
        }
        chars.erase(chars.begin(), chars.begin() + static_cast<std::ptrdiff_t>(tokens.size()));
        return chars;
    }

    /// Every character a full answer under a prefix may continue with, each once.
    std::vector<std::string> Candidates() const {
        std::vector<std::string> out;
        const auto add = [&](const std::string& c) {
            if (std::none_of(out.begin(), out.end(), [&](const auto& o) { return Same(o, c); })) {
                out.push_back(c);
            }
        };
        const auto alphabet = Characters(spec_.alphabet);
        for (const auto& c : alphabet) {
            add(c);
        }
        if (spec_.case_mode == PartitionSpec::Case::kProbe && !Folds()) {
            for (const auto& c : alphabet) {
                if (IsAsciiLetter(c)) {
                    add(SwapCase(c));
                }
            }
        }
        for (const auto& c : Characters(notes_.extra)) {
            add(c);
        }
        std::erase_if(out, [&](const std::string& c) { return In(notes_.listed, c); });
        return out;
    }

    /// Characters outside the alphabet that a literal call can name: letters come from the
    /// alphabet (in both cases when the filter does not fold) and metacharacters from the
    /// catch-all, so neither is extra.
    bool Extra(std::string_view c) const {
        const bool letters_known = spec_.case_mode != PartitionSpec::Case::kSensitive;
        return !(letters_known && IsAsciiLetter(c)) && !In(spec_.alphabet, c) && !Meta(c) &&
               !NeverLiteral(c) && !Contains(spec_.any_char, c);
    }

    const std::string& Key(const json::value& record, std::string& scratch) const {
        scratch.clear();
        if (const auto* v = FindPath(record, spec_.field); v != nullptr && v->is_string()) {
            scratch = std::string(v->get_string());
        }
        return scratch;
    }

private:
    const PartitionSpec& spec_;
    const PartitionNotes& notes_;
};

constexpr std::pair<PartitionCall, std::string_view> kCallNames[] = {
    {PartitionCall::kList, "list"},
    {PartitionCall::kExact, "exact"},
    {PartitionCall::kCase, "case"},
    {PartitionCall::kEscape, "escape"},
    {PartitionCall::kExclude, "exclude"},
    {PartitionCall::kSplit, "split"},
};

std::string_view Findings(Finding f) {
    switch (f) {
        case Finding::kYes:
            return "yes";
        case Finding::kNo:
            return "no";
        case Finding::kUnknown:
            break;
    }
    return "unknown";
}

Finding ReadFinding(const json::object& o, std::string_view key) {
    if (const auto* v = o.if_contains(key); v != nullptr && v->is_string()) {
        if (v->get_string() == "yes") {
            return Finding::kYes;
        }
        if (v->get_string() == "no") {
            return Finding::kNo;
        }
    }
    return Finding::kUnknown;
}

std::string ReadString(const json::object& o, std::string_view key) {
    if (const auto* v = o.if_contains(key); v != nullptr && v->is_string()) {
        return std::string(v->get_string());
    }
    return {};
}

bool ReadBool(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_bool() && v->get_bool();
}

/// A full kList answer: the kSplit that replaces it, with what the answer showed.
Partition SplitOf(
    const Rules& rules,
    const PartitionSpec& spec,
    const Partition& full,
    const json::array& records
) {
    Partition split;
    split.pattern = full.pattern;
    split.call = PartitionCall::kSplit;
    split.skip = full.skip;
    split.probed = full.probed;
    const auto plain = rules.Plain(full.pattern);
    std::vector<std::vector<std::string>> rests;
    std::string scratch;
    for (const auto& record : records) {
        const auto& key = rules.Key(record, scratch);
        auto rest = rules.After(full.pattern, key);
        if (!rest) {
            continue;  // Matched through a metacharacter of the key's own.
        }
        if (rest->empty()) {
            split.exact_seen = split.exact_seen || plain.has_value();
            continue;
        }
        const auto& next = rest->front();
        if ((rules.Meta(next) || rules.NeverLiteral(next) || next == spec.any_char) &&
            !Contains(split.evidence, next)) {
            split.evidence += next;
        }
        rests.push_back(std::move(*rest));
    }
    split.chained =
        rests.size() >= 2 && std::all_of(rests.begin(), rests.end(), [&](const auto& r) {
            return rules.Same(r.front(), rests.front().front());
        });
    // Characters in at least half of the keys: their exclusion probes would come back full.
    std::vector<std::pair<std::string, std::size_t>> counts;
    for (const auto& rest : rests) {
        std::vector<std::string> once;
        for (const auto& c : rest) {
            if (std::none_of(once.begin(), once.end(), [&](const auto& o) {
                    return rules.Same(o, c);
                })) {
                once.push_back(c);
            }
        }
        for (const auto& c : once) {
            auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& e) {
                return rules.Same(e.first, c);
            });
            if (it == counts.end()) {
                counts.emplace_back(c, 1);
            } else {
                ++it->second;
            }
        }
    }
    for (const auto& [c, n] : counts) {
        if (2 * n >= rests.size()) {
            split.frequent += c;
        }
    }
    return split;
}

/// A key of `records` fit for the case probe: it has an ASCII letter and can be sent as an
/// exact filter as it is.
std::optional<std::string>
CaseProbeKey(const Rules& rules, const PartitionSpec& spec, const json::array& records) {
    std::string scratch;
    for (const auto& record : records) {
        const auto& key = rules.Key(record, scratch);
        bool letter = false;
        bool plain = !key.empty();
        for (const auto& c : Characters(key)) {
            letter = letter || IsAsciiLetter(c);
            plain = plain && !rules.Meta(c) && !rules.NeverLiteral(c) && c != spec.wildcard &&
                    c != spec.any_char;
        }
        if (letter && plain) {
            return key;
        }
    }
    return std::nullopt;
}

/// A key of `records` fit for the escape probe: it holds a metacharacter that escaping should
/// make literal, and nothing that can never be literal.
std::optional<std::string>
EscapeProbeKey(const Rules& rules, const PartitionSpec& spec, const json::array& records) {
    std::string scratch;
    for (const auto& record : records) {
        const auto& key = rules.Key(record, scratch);
        bool meta = false;
        bool fit = !key.empty();
        for (const auto& c : Characters(key)) {
            meta = meta || rules.Meta(c);
            fit = fit && !rules.NeverLiteral(c) && c != spec.wildcard;
        }
        if (meta && fit) {
            return key;
        }
    }
    return std::nullopt;
}

/// A global probe: every key that contains `c`.
Partition GlobalProbe(const Rules& rules, const std::string& c) {
    Partition p;
    p.call = PartitionCall::kExclude;
    p.probe = rules.Piece(c).value_or(c);
    p.character = c;
    return p;
}

/// Takes in what the keys of an answer show: characters outside the alphabet (named from now
/// on, each with a global probe returned to find out whether that is needed) and keys that
/// continue a prefix with a character no pattern may name.
std::vector<Partition> Learn(
    const Rules& rules,
    const PartitionSpec& spec,
    PartitionNotes& notes,
    const json::array& records
) {
    std::vector<Partition> probes;
    std::string scratch;
    for (const auto& record : records) {
        const auto chars = Characters(rules.Key(record, scratch));
        std::string prefix;
        for (const auto& c : chars) {
            if (rules.Extra(c) && !rules.In(notes.extra, c) && !rules.In(notes.listed, c)) {
                notes.extra += c;
                probes.push_back(GlobalProbe(rules, c));
            }
            prefix += c;
            if ((rules.Meta(c) || rules.NeverLiteral(c) || c == spec.any_char) &&
                notes.unnamed.size() < PartitionNotes::kMaxUnnamed) {
                const auto at =
                    std::lower_bound(notes.unnamed.begin(), notes.unnamed.end(), prefix);
                if (at == notes.unnamed.end() || *at != prefix) {
                    notes.unnamed.insert(at, prefix);
                }
            }
        }
    }
    return probes;
}

/// The global probes sent when the first call comes back full: every printable ASCII
/// character that is neither in the alphabet nor a letter the alphabet covers nor a
/// metacharacter. Each is named in splits until its probe shows that it need not be.
std::vector<Partition>
RareProbes(const Rules& rules, const PartitionSpec& spec, PartitionNotes& notes) {
    std::vector<std::string> rare;
    for (char ch = ' '; ch <= '~'; ++ch) {
        rare.emplace_back(1, ch);
    }
    // The letters of Latin-1 (U+00C0-U+00FF but × and ÷): the accents of most European
    // addresses, so that a key starting with one is found even if no answer showed it.
    for (unsigned cp = 0xC0; cp <= 0xFF; ++cp) {
        if (cp != 0xD7 && cp != 0xF7) {
            rare.push_back(
                {static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))}
            );
        }
    }
    std::vector<Partition> probes;
    for (const auto& c : rare) {
        if (!rules.Extra(c) || c == spec.wildcard || c == spec.escape || rules.In(notes.extra, c) ||
            rules.In(notes.listed, c)) {
            continue;
        }
        notes.extra += c;
        probes.push_back(GlobalProbe(rules, c));
    }
    return probes;
}

/// The Latin-1 letter of the other case (U+00C0-U+00DE and U+00E0-U+00FE pair up), or `c`.
std::string OtherCase(const std::string& c) {
    if (c.size() != 2 || static_cast<unsigned char>(c[0]) != 0xC3) {
        return SwapCase(c);
    }
    const auto low = static_cast<unsigned char>(c[1]);
    if (low >= 0x80 && low <= 0x9E && low != 0x97) {
        return {c[0], static_cast<char>(low + 0x20)};
    }
    if (low >= 0xA0 && low <= 0xBE && low != 0xB7) {
        return {c[0], static_cast<char>(low - 0x20)};
    }
    return c;
}

/// Whether a global probe's answer shows that the server matches `c` with other characters
/// (an accent-insensitive collation matching é with e): some key in it holds neither `c`
/// nor its other case. Such a character is reached through the letters it matches.
bool Folded(const Rules& rules, const std::string& c, const json::array& records) {
    const std::string other = OtherCase(c);
    std::string scratch;
    return std::any_of(records.begin(), records.end(), [&](const json::value& r) {
        const auto& key = rules.Key(r, scratch);
        return key.find(c) == std::string::npos && key.find(other) == std::string::npos;
    });
}

/// Replaces the kSplit at the front of `queue` by its exclusion probes (once) or by the
/// narrower calls. Returns the number of calls added.
std::size_t Resolve(
    const Rules& rules,
    const PartitionSpec& spec,
    const PartitionNotes& notes,
    std::vector<Partition>& queue
) {
    Partition split = queue.front();
    const auto candidates = rules.Candidates();
    if (spec.exclusion_probes && !split.probed && split.chained && !split.pattern.empty()) {
        std::vector<Partition> probes;
        for (const auto& c : candidates) {
            const auto piece = rules.Piece(c);
            if (!piece || rules.In(split.skip, c) || rules.In(split.frequent, c)) {
                continue;
            }
            Partition probe;
            probe.pattern = split.pattern;
            probe.call = PartitionCall::kExclude;
            probe.probe = *piece;
            probe.character = c;
            probes.push_back(std::move(probe));
        }
        queue.front().probed = true;
        queue.insert(queue.begin(), probes.begin(), probes.end());
        return probes.size();
    }
    queue.erase(queue.begin());
    std::vector<Partition> next;
    const auto child = [&](std::string pattern, PartitionCall call) {
        Partition p;
        p.pattern = std::move(pattern);
        p.call = call;
        p.skip = split.skip;
        p.probed = split.probed;
        next.push_back(std::move(p));
    };
    if (const auto plain = rules.Plain(split.pattern);
        plain && !plain->empty() && !(spec.unique && split.exact_seen)) {
        child(*plain, PartitionCall::kExact);
    }
    for (const auto& c : candidates) {
        const auto piece = rules.Piece(c);
        if (piece && !rules.In(split.skip, c)) {
            child(split.pattern + *piece, PartitionCall::kList);
        }
    }
    // The catch-all: the single-character wildcard stands for whatever cannot be named, when
    // a key seen in the listing continues the prefix with such a character.
    bool unnamed = false;
    for (const auto& c : Characters(split.evidence)) {
        unnamed = unnamed || !rules.Piece(c).has_value();
    }
    for (const auto& seen : notes.unnamed) {
        if (unnamed) {
            break;
        }
        const auto rest = rules.After(split.pattern, seen);
        unnamed = rest && rest->size() == 1 && !rules.Piece(rest->front()).has_value();
    }
    // At the root the catch-all is also asked whenever metacharacters cannot be named: it is
    // the only call that reaches a key starting with one.
    const bool root_blind =
        split.pattern.empty() && !spec.metacharacters.empty() && !rules.Escapes();
    if (!spec.any_char.empty() && (unnamed || root_blind)) {
        child(split.pattern + spec.any_char, PartitionCall::kList);
    }
    queue.insert(queue.begin(), next.begin(), next.end());
    return next.size();
}

}  // namespace

json::object Partition::ToJson() const {
    json::object o{{"pattern", pattern}};
    if (call != PartitionCall::kList) {
        for (const auto& [c, name] : kCallNames) {
            if (c == call) {
                o["call"] = name;
            }
        }
    }
    if (!probe.empty()) {
        o["probe"] = probe;
    }
    if (!character.empty()) {
        o["character"] = character;
    }
    if (!skip.empty()) {
        o["skip"] = skip;
    }
    if (probed) {
        o["probed"] = true;
    }
    if (exact_seen) {
        o["exact_seen"] = true;
    }
    if (chained) {
        o["chained"] = true;
    }
    if (!evidence.empty()) {
        o["evidence"] = evidence;
    }
    if (!frequent.empty()) {
        o["frequent"] = frequent;
    }
    return o;
}

Partition Partition::FromJson(const json::value& v) {
    Partition p;
    const auto* o = v.if_object();
    if (o == nullptr) {
        return p;
    }
    if (o->contains("pattern")) {
        p.pattern = ReadString(*o, "pattern");
        const auto name = ReadString(*o, "call");
        for (const auto& [c, n] : kCallNames) {
            if (n == name) {
                p.call = c;
            }
        }
        p.probe = ReadString(*o, "probe");
        p.character = ReadString(*o, "character");
        p.skip = ReadString(*o, "skip");
        p.probed = ReadBool(*o, "probed");
        p.exact_seen = ReadBool(*o, "exact_seen");
        p.chained = ReadBool(*o, "chained");
        p.evidence = ReadString(*o, "evidence");
        p.frequent = ReadString(*o, "frequent");
        return p;
    }
    // The older form: a literal prefix, listed or exact. Sent unescaped now, its
    // metacharacters match a superset of it, which loses nothing.
    p.pattern = ReadString(*o, "prefix");
    p.call = ReadBool(*o, "exact") ? PartitionCall::kExact : PartitionCall::kList;
    return p;
}

json::object PartitionNotes::ToJson() const {
    json::object o{
        {"folds_case", Findings(folds_case)}, {"honours_escapes", Findings(honours_escapes)}};
    if (!extra.empty()) {
        o["extra"] = extra;
    }
    if (!listed.empty()) {
        o["listed"] = listed;
    }
    if (!unnamed.empty()) {
        json::array a;
        for (const auto& u : unnamed) {
            a.emplace_back(u);
        }
        o["unnamed"] = std::move(a);
    }
    return o;
}

PartitionNotes PartitionNotes::FromJson(const json::value& v) {
    PartitionNotes n;
    if (const auto* o = v.if_object()) {
        n.folds_case = ReadFinding(*o, "folds_case");
        n.honours_escapes = ReadFinding(*o, "honours_escapes");
        n.extra = ReadString(*o, "extra");
        n.listed = ReadString(*o, "listed");
        if (const auto* a = o->if_contains("unnamed"); a != nullptr && a->is_array()) {
            for (const auto& u : a->get_array()) {
                if (u.is_string()) {
                    n.unnamed.emplace_back(u.get_string());
                }
            }
            std::sort(n.unnamed.begin(), n.unnamed.end());
        }
    }
    return n;
}

std::string PartitionPattern(const PartitionSpec& spec, const Partition& p) {
    switch (p.call) {
        case PartitionCall::kList:
        case PartitionCall::kEscape:
            return p.pattern + spec.wildcard;
        case PartitionCall::kExclude:
            return p.pattern + spec.wildcard + p.probe + spec.wildcard;
        case PartitionCall::kExact:
        case PartitionCall::kCase:
        case PartitionCall::kSplit:
            break;
    }
    return p.pattern;
}

json::object PartitionContext(const PartitionSpec& spec, const Partition& p) {
    return json::object{{"prefix", p.pattern}, {"pattern", PartitionPattern(spec, p)}};
}

std::vector<Partition> FirstPartitions(const PartitionSpec&) {
    return {Partition{}};
}

PartitionStep Advance(
    const PartitionSpec& spec,
    PartitionNotes& notes,
    std::vector<Partition>& queue,
    const json::array& records
) {
    PartitionStep step;
    if (queue.empty()) {
        return step;
    }
    const Partition done = queue.front();
    queue.erase(queue.begin());
    const Rules rules(spec, notes);
    std::vector<Partition> learned = Learn(rules, spec, notes, records);
    const bool full = static_cast<std::int64_t>(records.size()) >= spec.split_at;
    const auto answered_with = [&](const std::string& key) {
        return std::any_of(records.begin(), records.end(), [&](const json::value& r) {
            std::string s;
            return rules.Key(r, s) == key;
        });
    };
    switch (done.call) {
        case PartitionCall::kList: {
            if (!full) {
                break;
            }
            if (Characters(done.pattern).size() >= spec.max_prefix) {
                step.too_deep = true;
                break;
            }
            std::vector<Partition> before;
            if (spec.case_mode == PartitionSpec::Case::kProbe &&
                notes.folds_case == Finding::kUnknown) {
                if (const auto key = CaseProbeKey(rules, spec, records)) {
                    Partition p;
                    p.pattern = SwapCase(*key);
                    p.call = PartitionCall::kCase;
                    p.probe = *key;
                    before.push_back(std::move(p));
                }
            }
            if (!spec.escape.empty() && !spec.metacharacters.empty() &&
                notes.honours_escapes == Finding::kUnknown) {
                if (const auto key = EscapeProbeKey(rules, spec, records)) {
                    PartitionNotes assume = notes;
                    assume.honours_escapes = Finding::kYes;
                    Partition p;
                    p.pattern = *Rules(spec, assume).Literal(*key);
                    p.call = PartitionCall::kEscape;
                    p.probe = *key;
                    before.push_back(std::move(p));
                }
            }
            if (done.pattern.empty()) {
                for (auto& probe : RareProbes(rules, spec, notes)) {
                    before.push_back(std::move(probe));
                }
            }
            before.push_back(SplitOf(rules, spec, done, records));
            queue.insert(queue.begin(), before.begin(), before.end());
            step.added += before.size();
            break;
        }
        case PartitionCall::kCase:
            notes.folds_case = answered_with(done.probe) ? Finding::kYes : Finding::kNo;
            break;
        case PartitionCall::kEscape:
            notes.honours_escapes = answered_with(done.probe) ? Finding::kYes : Finding::kNo;
            break;
        case PartitionCall::kExclude:
            if (done.pattern.empty()) {
                if ((!full || Folded(rules, done.character, records)) &&
                    !rules.In(notes.listed, done.character)) {
                    notes.listed += done.character;
                }
                break;
            }
            if (!full) {
                for (auto& p : queue) {
                    if (p.call == PartitionCall::kSplit && p.pattern == done.pattern) {
                        p.skip += done.character;
                        break;
                    }
                }
            }
            break;
        case PartitionCall::kExact:
        case PartitionCall::kSplit:
            break;
    }
    queue.insert(queue.begin(), learned.begin(), learned.end());
    step.added += learned.size();
    while (!queue.empty() && queue.front().call == PartitionCall::kSplit) {
        step.added += Resolve(Rules(spec, notes), spec, notes, queue);
    }
    return step;
}

json::array EncodePartitions(const std::vector<Partition>& queue) {
    json::array out;
    out.reserve(queue.size());
    for (const auto& p : queue) {
        out.push_back(p.ToJson());
    }
    return out;
}

std::vector<Partition> DecodePartitions(const json::array& stored) {
    std::vector<Partition> out;
    out.reserve(stored.size());
    for (const auto& v : stored) {
        out.push_back(Partition::FromJson(v));
    }
    return out;
}

}  // namespace chatsync::connectors
