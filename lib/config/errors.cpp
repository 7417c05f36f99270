#include <utility>

#include "config/config.hpp"

namespace chatsync::config {

namespace {

// "file:line:col: key.path: message"; the position and the key path are left out when unknown
// (a file that cannot be read has neither).
std::string Format(
    const std::string& file,
    int line,
    int column,
    const std::string& key_path,
    const std::string& message
) {
    std::string out = file;
    if (line > 0) {
        out += ':' + std::to_string(line) + ':' + std::to_string(column);
    }
    out += ": ";
    if (!key_path.empty()) {
        out += key_path + ": ";
    }
    out += message;
    return out;
}

std::string Join(const std::vector<ConfigError>& errors) {
    std::string out;
    for (const auto& e : errors) {
        if (!out.empty()) {
            out += '\n';
        }
        out += e.what();
    }
    return out;
}

}  // namespace

ConfigError::ConfigError(
    std::string file,
    int line,
    int column,
    std::string key_path,
    std::string message
)
    : std::runtime_error(Format(file, line, column, key_path, message))
    , file_(std::move(file))
    , line_(line)
    , column_(column)
    , key_path_(std::move(key_path))
    , message_(std::move(message)) {}

ConfigErrors::ConfigErrors(std::vector<ConfigError> errors)
    : std::runtime_error(Join(errors))
    , errors_(std::move(errors)) {}

}  // namespace chatsync::config
