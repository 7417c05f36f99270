#include "core/json.hpp"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace chatsync {
namespace {

/// The UTF-16 code unit that the four hex digits of a \u escape give, or nullopt when they
/// are not all hex digits.
std::optional<std::uint32_t> HexUnit(std::string_view four) {
    std::uint32_t unit = 0;
    const auto [ptr, ec] = std::from_chars(four.data(), four.data() + four.size(), unit, 16);
    if (ec != std::errc{} || ptr != four.data() + four.size()) {
        return std::nullopt;
    }
    return unit;
}

/// Rewrites the parts of a JSON text that Boost.JSON would refuse or round, and that
/// PostgreSQL would refuse, into forms that parse to storable values (see ParseJson). Works
/// on the text rather than in a parser handler because Boost 1.81's parser rejects lone
/// surrogates itself, and reports big integers to a handler only as doubles plus their text
/// in pieces. Text that is not JSON is left for the parser to refuse; nothing here makes it
/// valid, since numbers are only rewritten where a value may stand.
class Repairer {
public:
    Repairer(std::string_view text, ParseRepairs& repairs, bool keep_nul)
        : text_(text)
        , repairs_(repairs)
        , keep_nul_(keep_nul) {}

    /// The repaired text (a view of the original when nothing changed).
    std::string_view Run() {
        std::size_t i = 0;
        while (i < text_.size()) {
            const char c = text_[i];
            if (c == '"') {
                i = String(i);
            } else if (c == '-' || (c >= '0' && c <= '9')) {
                i = Number(i);
            } else {
                Structural(c);
                ++i;
            }
        }
        if (!changed_) {
            return text_;
        }
        out_.append(text_.substr(copied_));
        return out_;
    }

private:
    void Replace(std::size_t from, std::size_t to, std::string_view with) {
        if (!changed_) {
            out_.reserve(text_.size() + 64);
            changed_ = true;
        }
        out_.append(text_.substr(copied_, from - copied_));
        out_.append(with);
        copied_ = to;
    }

    void Structural(char c) {
        switch (c) {
            case '{':
            case '[':
                containers_.push_back(c == '{');
                if (containers_.size() > kDeepJsonDepth) {
                    repairs_.deep = 1;
                }
                key_next_ = c == '{';
                break;
            case '}':
            case ']':
                if (!containers_.empty()) {
                    containers_.pop_back();
                }
                key_next_ = false;
                break;
            case ',':
                key_next_ = !containers_.empty() && containers_.back();
                break;
            case ':':
                key_next_ = false;
                break;
            default:
                break;
        }
    }

    /// The string starting at the quote at `i`; returns the index after its closing quote.
    std::size_t String(std::size_t i) {
        const bool key = key_next_;
        key_next_ = false;
        ++i;
        const std::size_t content = i;
        while (i < text_.size()) {
            // Most strings hold no escape: two memchr calls find the closing quote and prove
            // that no backslash comes before it, instead of a loop over every byte.
            const char* from = text_.data() + i;
            const auto left = text_.size() - i;
            const auto* quote = static_cast<const char*>(std::memchr(from, '"', left));
            const auto span = quote == nullptr ? left : static_cast<std::size_t>(quote - from);
            const auto* escape = static_cast<const char*>(std::memchr(from, '\\', span));
            if (escape == nullptr) {
                return quote == nullptr ? text_.size() : i + span + 1;
            }
            i += static_cast<std::size_t>(escape - from);
            if (i + 1 >= text_.size() || text_[i + 1] != 'u' || i + 6 > text_.size()) {
                i += 2;
                continue;
            }
            const auto unit = HexUnit(text_.substr(i + 2, 4));
            if (!unit) {
                i += 2;  // the parser refuses it
                continue;
            }
            if (*unit == 0) {
                ++repairs_.nul;
                if (!keep_nul_) {
                    Replace(i, i + 6, kReplacementEscape);
                } else if (i == content && !key) {
                    Replace(i, i, "\\u0000");  // see ParseJsonKeepingNul
                }
            } else if (*unit >= 0xD800 && *unit <= 0xDBFF) {
                // A high surrogate is well-formed only when a low one follows at once.
                const bool paired =
                    i + 12 <= text_.size() && text_[i + 6] == '\\' && text_[i + 7] == 'u';
                const auto low = paired ? HexUnit(text_.substr(i + 8, 4)) : std::nullopt;
                if (low && *low >= 0xDC00 && *low <= 0xDFFF) {
                    i += 12;
                    continue;
                }
                ++repairs_.surrogate;
                Replace(i, i + 6, kReplacementEscape);
            } else if (*unit >= 0xDC00 && *unit <= 0xDFFF) {
                ++repairs_.surrogate;
                Replace(i, i + 6, kReplacementEscape);
            }
            i += 6;
        }
        return i;
    }

    /// The number starting at `i`; returns the index after it.
    std::size_t Number(std::size_t begin) {
        std::size_t end = text_[begin] == '-' ? begin + 1 : begin;
        bool integer = true;
        while (end < text_.size()) {
            const char c = text_[end];
            if (c >= '0' && c <= '9') {
                ++end;
            } else if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
                integer = false;
                ++end;
            } else {
                break;
            }
        }
        const auto token = text_.substr(begin, end - begin);
        const auto digits = token.substr(token.front() == '-' ? 1 : 0);
        // Only a valid JSON integer where a value may stand (not where a key must), so that
        // no text that is not JSON becomes JSON.
        if (!integer || key_next_ || digits.empty() || digits.front() == '0') {
            key_next_ = false;
            return end;
        }
        std::int64_t i64 = 0;
        std::uint64_t u64 = 0;
        const auto fits =
            token.front() == '-'
                ? std::from_chars(token.data(), token.data() + token.size(), i64).ec
                : std::from_chars(digits.data(), digits.data() + digits.size(), u64).ec;
        if (fits == std::errc::result_out_of_range) {
            ++repairs_.big_integer;
            std::string sentinel = "\"\\u0000";
            sentinel.append(token);
            sentinel.push_back('"');
            Replace(begin, end, sentinel);
        }
        return end;
    }

    static constexpr std::string_view kReplacementEscape = "\\ufffd";

    std::string_view text_;
    ParseRepairs& repairs_;
    /// NUL escapes stay as they are (ParseJsonKeepingNul).
    bool keep_nul_;
    /// One entry per open container: true for an object.
    std::vector<bool> containers_;
    /// The next token is an object key.
    bool key_next_ = false;
    bool changed_ = false;
    std::string out_;
    /// How much of `text_` is in `out_` (once changed_).
    std::size_t copied_ = 0;
};

void Serialize(std::string& out, const boost::json::value& v) {
    switch (v.kind()) {
        case boost::json::kind::string:
            if (const auto big = BigIntegerText(v)) {
                out.append(*big);
            } else if (v.get_string().starts_with(std::string_view("\0\0", 2))) {
                AppendJsonString(out, std::string_view(v.get_string()).substr(1));
            } else {
                AppendJsonString(out, v.get_string());
            }
            return;
        case boost::json::kind::array: {
            out.push_back('[');
            bool first = true;
            for (const auto& e : v.get_array()) {
                if (!first) {
                    out.push_back(',');
                }
                first = false;
                Serialize(out, e);
            }
            out.push_back(']');
            return;
        }
        case boost::json::kind::object: {
            out.push_back('{');
            bool first = true;
            for (const auto& kv : v.get_object()) {
                if (!first) {
                    out.push_back(',');
                }
                first = false;
                AppendJsonString(out, kv.key());
                out.push_back(':');
                Serialize(out, kv.value());
            }
            out.push_back('}');
            return;
        }
        default:
            out.append(boost::json::serialize(v));
            return;
    }
}

}  // namespace

boost::json::value ParseJson(
    std::string_view text,
    boost::system::error_code& ec,
    ParseRepairs& repairs,
    boost::json::storage_ptr sp
) {
    Repairer repairer(text, repairs, false);
    const std::string_view repaired = repairer.Run();
    boost::json::parse_options options;
    options.max_depth = kMaxJsonDepth;
    return boost::json::parse(repaired, ec, std::move(sp), options);
}

boost::json::value ParseJsonKeepingNul(
    std::string_view text,
    boost::system::error_code& ec,
    boost::json::storage_ptr sp
) {
    ParseRepairs repairs;
    Repairer repairer(text, repairs, true);
    const std::string_view repaired = repairer.Run();
    boost::json::parse_options options;
    options.max_depth = kMaxJsonDepth;
    return boost::json::parse(repaired, ec, std::move(sp), options);
}

std::optional<std::string_view> BigIntegerText(const boost::json::value& v) noexcept {
    const auto* s = v.if_string();
    // A kept NUL doubled at the start (ParseJsonKeepingNul) is a string, not an integer.
    if (s == nullptr || s->size() < 2 || s->front() != '\0' || (*s)[1] == '\0') {
        return std::nullopt;
    }
    return std::string_view(*s).substr(1);
}

std::string SerializeJson(const boost::json::value& v) {
    std::string out;
    Serialize(out, v);
    return out;
}

const boost::json::value* FindPath(const boost::json::value& root, std::string_view path) {
    const boost::json::value* cur = &root;
    while (!path.empty()) {
        const auto dot = path.find('.');
        const auto part = path.substr(0, dot);
        path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
        if (const auto* obj = cur->if_object()) {
            const auto it = obj->find(part);
            if (it == obj->end()) {
                return nullptr;
            }
            cur = &it->value();
        } else if (const auto* arr = cur->if_array()) {
            std::size_t index = 0;
            const auto [ptr, ec] = std::from_chars(part.data(), part.data() + part.size(), index);
            if (ec != std::errc{} || ptr != part.data() + part.size() || index >= arr->size()) {
                return nullptr;
            }
            cur = &(*arr)[index];
        } else {
            return nullptr;
        }
    }
    return cur;
}

std::string ScalarText(const boost::json::value& v) {
    if (const auto big = BigIntegerText(v)) {
        return std::string(*big);
    }
    switch (v.kind()) {
        case boost::json::kind::string:
            return std::string(v.get_string());
        case boost::json::kind::null:
            return {};
        default:
            return SerializeJson(v);
    }
}

void AppendJsonString(std::string& out, std::string_view s) {
    out.push_back('"');
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        switch (ch) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20) {
                    static constexpr char kHex[] = "0123456789abcdef";
                    out += "\\u00";
                    out.push_back(kHex[c >> 4U]);
                    out.push_back(kHex[c & 0x0FU]);
                } else {
                    out.push_back(ch);
                }
        }
    }
    out.push_back('"');
}

}  // namespace chatsync
