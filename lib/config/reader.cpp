#include "config/detail/reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "core/text.hpp"

namespace chatsync::config::detail {

namespace {

constexpr std::size_t kMaxEchoedChars = 40;

const std::vector<YamlNode>& EmptyList() {
    static const std::vector<YamlNode> kEmpty;
    return kEmpty;
}

std::optional<std::int64_t> ParseInt(std::string_view text) {
    if (text.starts_with('+')) {
        text.remove_prefix(1);
    }
    std::int64_t n = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || ptr != text.data() + text.size() || text.empty()) {
        return std::nullopt;
    }
    return n;
}

bool IsDigits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// YAML 1.2 core schema float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool LooksLikeFloat(std::string_view s) {
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
        s.remove_prefix(1);
    }
    const std::size_t e = s.find_first_of("eE");
    std::string_view mantissa = s.substr(0, e);
    if (e != std::string_view::npos) {
        std::string_view exp = s.substr(e + 1);
        if (!exp.empty() && (exp[0] == '-' || exp[0] == '+')) {
            exp.remove_prefix(1);
        }
        if (!IsDigits(exp)) {
            return false;
        }
    }
    const std::size_t dot = mantissa.find('.');
    if (dot == std::string_view::npos) {
        return IsDigits(mantissa);
    }
    const std::string_view whole = mantissa.substr(0, dot);
    const std::string_view frac = mantissa.substr(dot + 1);
    if (whole.empty()) {
        return IsDigits(frac);
    }
    return IsDigits(whole) && (frac.empty() || IsDigits(frac));
}

std::optional<double> ParseDouble(std::string_view text) {
    if (text.starts_with('+')) {
        text.remove_prefix(1);
    }
    double d = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
    if (ec != std::errc{} || ptr != text.data() + text.size() || text.empty() ||
        !std::isfinite(d)) {
        return std::nullopt;
    }
    return d;
}

std::optional<bool> ParseBool(std::string_view text) {
    if (text == "true" || text == "True" || text == "TRUE") {
        return true;
    }
    if (text == "false" || text == "False" || text == "FALSE") {
        return false;
    }
    return std::nullopt;
}

bool IsNullWord(std::string_view text) {
    return text == "~" || text == "null" || text == "Null" || text == "NULL";
}

// A plain scalar typed as the YAML core schema would, extended to JSON: integers that do not
// fit int64 fall back to uint64 or double rather than turning into strings.
boost::json::value ResolvePlain(const std::string& text) {
    if (IsNullWord(text)) {
        return nullptr;
    }
    if (const auto b = ParseBool(text)) {
        return *b;
    }
    std::string_view digits = text;
    const bool negative = digits.starts_with('-');
    if (negative || digits.starts_with('+')) {
        digits.remove_prefix(1);
    }
    if (IsDigits(digits)) {
        if (const auto n = ParseInt(text)) {
            return *n;
        }
        std::uint64_t u = 0;
        const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), u);
        if (!negative && ec == std::errc{} && ptr == digits.data() + digits.size()) {
            return u;
        }
    }
    if (digits.starts_with("0x") && digits.size() > 2 && !negative) {
        std::int64_t n = 0;
        const auto [ptr, ec] =
            std::from_chars(digits.data() + 2, digits.data() + digits.size(), n, 16);
        if (ec == std::errc{} && ptr == digits.data() + digits.size()) {
            return n;
        }
    }
    if (LooksLikeFloat(text)) {
        if (const auto d = ParseDouble(text)) {
            return *d;
        }
    }
    return boost::json::string(text);
}

}  // namespace

Context::Context(
    std::string file,
    std::vector<ConfigError>& errors,
    const EnvLookup* env,
    std::filesystem::path base_dir
)
    : file_(std::move(file))
    , errors_(errors)
    , env_(env)
    , base_dir_(std::move(base_dir)) {}

void Context::Error(const Mark& mark, const std::string& path, std::string message) {
    errors_.emplace_back(
        mark.file.empty() ? file_ : mark.file, mark.line, mark.column, path, std::move(message)
    );
}

std::filesystem::path Context::Resolve(const std::filesystem::path& p) const {
    if (p.is_absolute() || base_dir_.empty()) {
        return p.lexically_normal();
    }
    return (base_dir_ / p).lexically_normal();
}

std::string Scalar::Got() const {
    if (from_env) {
        return "";
    }
    if (text.size() > kMaxEchoedChars) {
        return " (got '" + text.substr(0, kMaxEchoedChars) + "...')";
    }
    return " (got '" + text + "')";
}

std::optional<Scalar>
ReadScalar(Context& ctx, const YamlNode& node, const std::string& path, std::string_view what) {
    if (node.IsNull()) {
        return std::nullopt;
    }
    if (!node.IsScalar()) {
        ctx.Error(
            node.mark,
            path,
            "expected " + std::string(what) + ", got " + std::string(KindName(node))
        );
        return std::nullopt;
    }
    Scalar s;
    s.plain = node.plain;
    s.mark = node.mark;
    if (ctx.env() == nullptr) {
        s.text = node.scalar;
        return s;
    }
    Interpolated r = Interpolate(node.scalar, *ctx.env());
    if (!r.error.empty()) {
        ctx.Error(node.mark, path, std::move(r.error));
        return std::nullopt;
    }
    s.text = std::move(r.text);
    s.from_env = r.used_env;
    return s;
}

std::optional<std::string> ReadString(Context& ctx, const YamlNode& node, const std::string& path) {
    auto s = ReadScalar(ctx, node, path);
    if (!s) {
        return std::nullopt;
    }
    return std::move(s->text);
}

std::optional<bool> ReadBool(Context& ctx, const YamlNode& node, const std::string& path) {
    const auto s = ReadScalar(ctx, node, path, "true or false");
    if (!s) {
        return std::nullopt;
    }
    if (const auto b = ParseBool(s->text)) {
        return b;
    }
    ctx.Error(s->mark, path, "expected true or false" + s->Got());
    return std::nullopt;
}

std::optional<std::int64_t> ReadInteger(
    Context& ctx,
    const YamlNode& node,
    const std::string& path,
    std::int64_t min,
    std::int64_t max
) {
    const auto s = ReadScalar(ctx, node, path, "an integer");
    if (!s) {
        return std::nullopt;
    }
    const auto n = ParseInt(s->text);
    if (!n) {
        ctx.Error(s->mark, path, "expected an integer" + s->Got());
        return std::nullopt;
    }
    if (*n < min || *n > max) {
        std::string range = max == std::numeric_limits<std::int64_t>::max()
                                ? "at least " + std::to_string(min)
                                : "between " + std::to_string(min) + " and " + std::to_string(max);
        ctx.Error(s->mark, path, "must be " + range + s->Got());
        return std::nullopt;
    }
    return n;
}

std::optional<double>
ReadPositiveNumber(Context& ctx, const YamlNode& node, const std::string& path) {
    const auto s = ReadScalar(ctx, node, path, "a number");
    if (!s) {
        return std::nullopt;
    }
    const auto d = ParseDouble(s->text);
    if (!d || *d <= 0) {
        ctx.Error(s->mark, path, "expected a number greater than 0" + s->Got());
        return std::nullopt;
    }
    return d;
}

std::optional<Millis>
ReadDuration(Context& ctx, const YamlNode& node, const std::string& path, bool positive) {
    const auto s = ReadScalar(ctx, node, path, "a duration");
    if (!s) {
        return std::nullopt;
    }
    const auto d = ParseDuration(s->text);
    if (!d) {
        ctx.Error(
            s->mark,
            path,
            "expected a duration such as 30s, 5m, 1h, at most " + FormatDuration(kMaxDuration) +
                s->Got()
        );
        return std::nullopt;
    }
    if (positive && d->count() == 0) {
        ctx.Error(s->mark, path, "must be longer than 0s");
        return std::nullopt;
    }
    return d;
}

std::optional<std::uint64_t>
ReadByteSize(Context& ctx, const YamlNode& node, const std::string& path) {
    const auto s = ReadScalar(ctx, node, path, "a byte size");
    if (!s) {
        return std::nullopt;
    }
    const auto n = ParseByteSize(s->text);
    if (!n) {
        ctx.Error(s->mark, path, "expected a byte size such as 512KiB, 64MiB, 1GiB" + s->Got());
        return std::nullopt;
    }
    return n;
}

std::optional<std::size_t> ReadChoice(
    Context& ctx,
    const YamlNode& node,
    const std::string& path,
    const std::vector<std::string>& names
) {
    const auto s = ReadScalar(ctx, node, path, "one of " + JoinNames(names));
    if (!s) {
        return std::nullopt;
    }
    const auto it = std::find(names.begin(), names.end(), s->text);
    if (it != names.end()) {
        return static_cast<std::size_t>(it - names.begin());
    }
    ctx.Error(s->mark, path, "expected one of " + JoinNames(names) + s->Got());
    return std::nullopt;
}

std::optional<boost::json::value>
ReadJson(Context& ctx, const YamlNode& node, const std::string& path) {
    switch (node.kind) {
        case YamlNode::Kind::kNull:
            return boost::json::value(nullptr);
        case YamlNode::Kind::kSequence: {
            boost::json::array a;
            for (std::size_t i = 0; i < node.items.size(); ++i) {
                if (auto v = ReadJson(ctx, node.items[i], IndexPath(path, i))) {
                    a.push_back(std::move(*v));
                }
            }
            return boost::json::value(std::move(a));
        }
        case YamlNode::Kind::kMapping: {
            boost::json::object o;
            for (const auto& e : ReadEntries(ctx, node, path)) {
                if (auto v = ReadJson(ctx, *e.value, JoinPath(path, e.key))) {
                    o[e.key] = std::move(*v);
                }
            }
            return boost::json::value(std::move(o));
        }
        case YamlNode::Kind::kScalar:
            break;
    }
    const auto s = ReadScalar(ctx, node, path);
    if (!s) {
        return std::nullopt;
    }
    constexpr std::string_view kCore = "tag:yaml.org,2002:";
    if (node.tag.empty()) {
        // An empty plain scalar can only come from interpolation ("key:" alone is null in the
        // tree); it stays an empty string, as the variable was.
        if (!s->plain || s->text.empty()) {
            return boost::json::value(boost::json::string(s->text));
        }
        return ResolvePlain(s->text);
    }
    const std::string_view tag = node.tag;
    if (tag == std::string(kCore) + "str") {
        return boost::json::value(boost::json::string(s->text));
    }
    if (tag == std::string(kCore) + "int") {
        if (const auto n = ParseInt(s->text)) {
            return boost::json::value(*n);
        }
        ctx.Error(s->mark, path, "expected an integer for !!int" + s->Got());
        return std::nullopt;
    }
    if (tag == std::string(kCore) + "float") {
        if (const auto d = ParseDouble(s->text)) {
            return boost::json::value(*d);
        }
        ctx.Error(s->mark, path, "expected a number for !!float" + s->Got());
        return std::nullopt;
    }
    if (tag == std::string(kCore) + "bool") {
        if (const auto b = ParseBool(s->text)) {
            return boost::json::value(*b);
        }
        ctx.Error(s->mark, path, "expected true or false for !!bool" + s->Got());
        return std::nullopt;
    }
    if (tag == std::string(kCore) + "null") {
        return boost::json::value(nullptr);
    }
    ctx.Error(s->mark, path, "unsupported tag '" + node.tag + "'");
    return std::nullopt;
}

const std::vector<YamlNode>* ReadList(Context& ctx, const YamlNode& node, const std::string& path) {
    if (node.IsNull()) {
        return &EmptyList();
    }
    if (!node.IsSequence()) {
        ctx.Error(node.mark, path, "expected a list, got " + std::string(KindName(node)));
        return nullptr;
    }
    return &node.items;
}

std::vector<Entry> ReadEntries(Context& ctx, const YamlNode& node, const std::string& path) {
    std::vector<Entry> out;
    if (node.IsNull()) {
        return out;
    }
    if (!node.IsMapping()) {
        ctx.Error(node.mark, path, "expected a mapping, got " + std::string(KindName(node)));
        return out;
    }
    std::map<std::string, int, std::less<>> first_line;
    for (const auto& e : node.entries) {
        if (!e.key.IsScalar()) {
            ctx.Error(
                e.key.mark, path, "expected a plain key, got " + std::string(KindName(e.key))
            );
            continue;
        }
        const auto [it, inserted] = first_line.emplace(e.key.scalar, e.key.mark.line);
        if (!inserted) {
            ctx.Error(
                e.key.mark,
                JoinPath(path, e.key.scalar),
                "duplicate key '" + e.key.scalar + "' (first at line " +
                    std::to_string(it->second) + ")"
            );
            continue;
        }
        out.push_back(Entry{e.key.scalar, &e.key, &e.value});
    }
    return out;
}

}  // namespace chatsync::config::detail
