#include "connectors/partition.hpp"

#include <algorithm>
#include <optional>

#include "connectors/detail/partition_rules.hpp"
#include "core/json.hpp"
#include "core/text.hpp"

namespace chatsync::connectors {
namespace json = boost::json;

namespace {

using detail::Characters;
using detail::Contains;
using detail::Finding;
using detail::IsAsciiLetter;
using detail::OtherCase;
using detail::Rules;
using detail::SwapCase;

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
                    // The key has no character that is never literal: escaped, it always is.
                    if (auto literal = Rules(spec, assume).Literal(*key)) {
                        Partition p;
                        p.pattern = std::move(*literal);
                        p.call = PartitionCall::kEscape;
                        p.probe = *key;
                        before.push_back(std::move(p));
                    }
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

}  // namespace chatsync::connectors
