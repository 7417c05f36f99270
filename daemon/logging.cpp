#include "daemon/logging.hpp"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string_view>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/json.hpp"
#include "core/redactor.hpp"
#include "core/time.hpp"

namespace chatsync::daemon {
namespace {

/// Splits "message words key=value key2=\"quoted value\"" into the message and its fields:
/// the fields start at the first word shaped like `key=`.
void AppendJsonFields(std::string& out, std::string_view text) {
    std::size_t msg_end = text.size();
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (i == 0 || text[i - 1] == ' ') {
            std::size_t j = i;
            while (j < text.size() &&
                   (std::isalnum(static_cast<unsigned char>(text[j])) != 0 || text[j] == '_')) {
                ++j;
            }
            if (j > i && j < text.size() && text[j] == '=') {
                msg_end = i == 0 ? 0 : i - 1;
                break;
            }
        }
    }
    out += ",\"msg\":";
    AppendJsonString(out, text.substr(0, msg_end));
    std::size_t pos = msg_end;
    while (pos < text.size()) {
        while (pos < text.size() && text[pos] == ' ') {
            ++pos;
        }
        const auto eq = text.find('=', pos);
        if (eq == std::string_view::npos) {
            break;
        }
        const auto key = text.substr(pos, eq - pos);
        std::string value;
        pos = eq + 1;
        if (pos < text.size() && text[pos] == '"') {
            ++pos;
            while (pos < text.size() && text[pos] != '"') {
                if (text[pos] == '\\' && pos + 1 < text.size()) {
                    ++pos;
                }
                value.push_back(text[pos++]);
            }
            ++pos;
        } else {
            const auto end = text.find(' ', pos);
            value = std::string(text.substr(pos, end - pos));
            pos = end == std::string_view::npos ? text.size() : end;
        }
        out.push_back(',');
        AppendJsonString(out, key);
        out.push_back(':');
        AppendJsonString(out, value);
    }
}

/// syslog(3) priorities, which journald reads from a "<N>" line prefix (sd-daemon(3)).
int SyslogPriority(spdlog::level::level_enum level) {
    switch (level) {
        case spdlog::level::critical:
            return 2;
        case spdlog::level::err:
            return 3;
        case spdlog::level::warn:
            return 4;
        case spdlog::level::info:
            return 6;
        default:
            return 7;
    }
}

class RedactingSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    RedactingSink(const Redactor& redactor, bool json, bool journal)
        : redactor_(redactor)
        , json_(json)
        , journal_(journal) {}

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        const auto text =
            redactor_.Redact(std::string_view(msg.payload.data(), msg.payload.size()));
        const auto when = std::chrono::time_point_cast<std::chrono::microseconds>(msg.time);
        const auto level = spdlog::level::to_string_view(msg.level);
        std::string line;
        if (json_) {
            line = "{\"ts\":";
            AppendJsonString(line, FormatIso8601(SysTime{when.time_since_epoch()}));
            line += ",\"level\":";
            AppendJsonString(line, std::string_view(level.data(), level.size()));
            AppendJsonFields(line, text);
            line += "}\n";
        } else if (journal_) {
            // The journal stamps each line itself and shows the priority as the level.
            line = "<" + std::to_string(SyslogPriority(msg.level)) + ">";
            line += text;
            line.push_back('\n');
        } else {
            line = FormatIso8601(SysTime{when.time_since_epoch()});
            line.push_back(' ');
            line.append(level.data(), level.size());
            line.push_back(' ');
            line += text;
            line.push_back('\n');
        }
        // Logs go to stderr, so that stdout carries a command's report alone
        // (`chatsyncd once > report.txt`).
        std::fwrite(line.data(), 1, line.size(), stderr);
    }

    void flush_() override { std::fflush(stderr); }

private:
    const Redactor& redactor_;
    bool json_;
    bool journal_;
};

/// Whether stderr is connected to the journal: systemd sets JOURNAL_STREAM to the
/// "device:inode" of the stream it connected stdout or stderr to (systemd.exec(5)), and
/// the log's priority prefixes mean something only on that stream.
bool StderrIsJournal() {
    const char* stream = std::getenv("JOURNAL_STREAM");

    struct stat st {};

    if (stream == nullptr || fstat(STDERR_FILENO, &st) != 0) {
        return false;
    }
    unsigned long long device = 0;
    unsigned long long inode = 0;
    if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2) {
        return false;
    }
    return static_cast<unsigned long long>(st.st_dev) == device &&
           static_cast<unsigned long long>(st.st_ino) == inode;
}

}  // namespace

void SetUpLogging(const std::string& level, const std::string& format, const Redactor& redactor) {
    const auto lvl = spdlog::level::from_str(level);
    if (lvl == spdlog::level::off && level != "off") {
        throw std::invalid_argument("unknown log level '" + level + "'");
    }
    if (format != "text" && format != "json") {
        throw std::invalid_argument("unknown log format '" + format + "' (text or json)");
    }
    const bool journal = StderrIsJournal();
    auto sink = std::make_shared<RedactingSink>(redactor, format == "json", journal);
    auto logger = std::make_shared<spdlog::logger>("chatsync", std::move(sink));
    logger->set_level(lvl);
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(std::move(logger));
}

}  // namespace chatsync::daemon
