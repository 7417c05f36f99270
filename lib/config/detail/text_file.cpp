#include "config/detail/text_file.hpp"

#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>
#include <utility>

namespace chatsync::config::detail {

namespace fs = std::filesystem;

namespace {

/// The length of the UTF-8 sequence that starts at `at`, or 0 when none does (a stray
/// continuation byte, an overlong form, a surrogate, a code point past U+10FFFF, or a
/// sequence cut short).
std::size_t Utf8SequenceLength(std::string_view text, std::size_t at) {
    const auto byte = [&](std::size_t i) {
        return i < text.size() ? static_cast<unsigned char>(text[i]) : 0U;
    };
    const unsigned lead = byte(at);
    const auto continuation = [&](std::size_t i, unsigned low, unsigned high) {
        const unsigned b = byte(i);
        return i < text.size() && b >= low && b <= high;
    };
    if (lead < 0x80) {
        return 1;
    }
    if (lead >= 0xC2 && lead <= 0xDF) {
        return continuation(at + 1, 0x80, 0xBF) ? 2 : 0;
    }
    if (lead >= 0xE0 && lead <= 0xEF) {
        // E0 needs A0..BF (no overlong forms); ED needs 80..9F (no surrogates).
        const unsigned low = lead == 0xE0 ? 0xA0 : 0x80;
        const unsigned high = lead == 0xED ? 0x9F : 0xBF;
        return continuation(at + 1, low, high) && continuation(at + 2, 0x80, 0xBF) ? 3 : 0;
    }
    if (lead >= 0xF0 && lead <= 0xF4) {
        // F0 needs 90..BF (no overlong forms); F4 needs 80..8F (nothing past U+10FFFF).
        const unsigned low = lead == 0xF0 ? 0x90 : 0x80;
        const unsigned high = lead == 0xF4 ? 0x8F : 0xBF;
        return continuation(at + 1, low, high) && continuation(at + 2, 0x80, 0xBF) &&
                       continuation(at + 3, 0x80, 0xBF)
                   ? 4
                   : 0;
    }
    return 0;
}

/// Secret files usually end with a newline (echo, editors); it is never part of the secret.
std::string TrimTrailingNewlines(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) {
        s.pop_back();
    }
    return s;
}

}  // namespace

std::optional<std::string> ReadTextFile(const fs::path& path, std::string& why) {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec) {
        why = ec.message();
        return std::nullopt;
    }
    if (fs::is_directory(status)) {
        why = "is a directory";
        return std::nullopt;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        why = std::generic_category().message(errno);
        return std::nullopt;
    }
    std::ostringstream out;
    out << in.rdbuf();
    if (in.bad()) {
        why = "read error";
        return std::nullopt;
    }
    return std::move(out).str();
}

std::optional<ConfigError> NotText(std::string_view text, const std::string& file) {
    int line = 1;
    int column = 1;
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t length = text[i] == '\0' ? 0 : Utf8SequenceLength(text, i);
        if (length == 0) {
            const std::string what = text[i] == '\0' ? "a NUL byte" : "not UTF-8 text";
            return ConfigError(
                file,
                line,
                column,
                "",
                what + " at byte offset " + std::to_string(i) +
                    ": a config file is YAML in UTF-8 (is this a binary file, or in another "
                    "encoding?)"
            );
        }
        if (text[i] == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
        i += length;
    }
    return std::nullopt;
}

std::optional<std::string>
ReadSecretFile(Context& ctx, const YamlNode& node, const std::string& path) {
    const auto s = ReadScalar(ctx, node, path, "a file path");
    if (!s) {
        if (node.IsNull()) {
            ctx.Error(node.mark, path, "needs a file path");
        }
        return std::nullopt;
    }
    if (s->text.empty()) {
        ctx.Error(s->mark, path, "needs a file path");
        return std::nullopt;
    }
    const fs::path file = ctx.Resolve(s->text);
    std::string why;
    auto content = ReadTextFile(file, why);
    if (!content) {
        ctx.Error(s->mark, path, "cannot read file '" + file.string() + "': " + why);
        return std::nullopt;
    }
    return TrimTrailingNewlines(std::move(*content));
}

}  // namespace chatsync::config::detail
