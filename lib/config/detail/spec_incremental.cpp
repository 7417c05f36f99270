#include <charconv>
#include <cstdint>
#include <system_error>

#include "config/detail/map_reader.hpp"
#include "config/detail/spec_parser.hpp"
#include "config/detail/spec_sections.hpp"
#include "core/time.hpp"

namespace chatsync::config::detail {

namespace cn = chatsync::connectors;

namespace {

constexpr NameTable<cn::CursorFormat, 4> kCursorFormats{{
    {"iso8601", cn::CursorFormat::kIso8601},
    {"unix", cn::CursorFormat::kUnixSeconds},
    {"unix_ms", cn::CursorFormat::kUnixMillis},
    {"number", cn::CursorFormat::kNumber},
}};

/// A cursor format: a fixed name or a strftime pattern. Returns false after reporting.
bool ReadCursorFormat(
    Context& ctx,
    const YamlNode& node,
    const std::string& path,
    cn::CursorFormat& format,
    std::string& pattern
) {
    const auto s = ReadScalar(ctx, node, path, "a cursor format");
    if (!s) {
        return false;
    }
    for (const auto& [name, value] : kCursorFormats) {
        if (s->text == name) {
            format = value;
            return true;
        }
    }
    if (s->text.find('%') != std::string::npos) {
        format = cn::CursorFormat::kCustom;
        pattern = s->text;
        return true;
    }
    ctx.Error(
        s->mark,
        path,
        "expected iso8601, unix, unix_ms, number or a strftime pattern containing %" + s->Got()
    );
    return false;
}

bool MatchesFormat(const std::string& value, cn::CursorFormat format, const std::string& pattern) {
    switch (format) {
        case cn::CursorFormat::kIso8601:
            return ParseIso8601(value).has_value();
        case cn::CursorFormat::kUnixSeconds:
        case cn::CursorFormat::kUnixMillis: {
            std::int64_t n = 0;
            const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            return ec == std::errc{} && ptr == value.data() + value.size() && !value.empty();
        }
        case cn::CursorFormat::kNumber: {
            double d = 0;
            const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), d);
            return ec == std::errc{} && ptr == value.data() + value.size() && !value.empty();
        }
        case cn::CursorFormat::kCustom:
            return ParseTime(value, pattern).has_value();
    }
    return false;
}

}  // namespace

cn::IncrementalSpec ReadIncremental(Context& ctx, const YamlNode& node, const std::string& path) {
    cn::IncrementalSpec out;
    MapReader m(ctx, node, path);
    if (const YamlNode* f = m.Required("cursor_field")) {
        out.cursor_field = ReadString(ctx, *f, m.PathOf("cursor_field")).value_or("");
    }
    out.start_param = m.String("start_param").value_or("");
    out.end_param = m.String("end_param").value_or("");
    bool format_ok = true;
    if (const YamlNode* f = m.Get("format"); f != nullptr && !f->IsNull()) {
        format_ok = ReadCursorFormat(ctx, *f, m.PathOf("format"), out.format, out.format_pattern);
    }
    if (const YamlNode* f = m.Get("record_format"); f != nullptr && !f->IsNull()) {
        cn::CursorFormat rf = cn::CursorFormat::kIso8601;
        std::string pattern;
        if (ReadCursorFormat(ctx, *f, m.PathOf("record_format"), rf, pattern)) {
            out.record_format = rf;
            out.record_format_pattern = std::move(pattern);
        }
    }
    if (const YamlNode* iv = m.Get("initial_value")) {
        if (const auto s = ReadScalar(ctx, *iv, m.PathOf("initial_value"))) {
            out.initial_value = s->text;
            if (format_ok && !s->text.empty() &&
                !MatchesFormat(s->text, out.format, out.format_pattern)) {
                ctx.Error(
                    s->mark,
                    m.PathOf("initial_value"),
                    "does not match format '" + CursorFormatName(out.format, out.format_pattern) +
                        "'" + s->Got()
                );
            }
        }
    }
    if (const auto v = m.Duration("lookback")) {
        out.lookback = *v;
    }
    if (const auto v = m.Bool("keyset")) {
        out.keyset = *v;
    }
    m.Finish();
    return out;
}

std::string CursorFormatName(cn::CursorFormat format, const std::string& pattern) {
    if (format == cn::CursorFormat::kCustom) {
        return pattern;
    }
    return std::string(NameOf(kCursorFormats, format));
}

}  // namespace chatsync::config::detail
