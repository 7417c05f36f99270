#include "emulator/frame/request_log.hpp"

#include "emulator/frame/json_writer.hpp"

namespace chatsync::emulator {

RequestLog::Id RequestLog::Add(LogEntry entry) {
    entries_.push_back(std::move(entry));
    return first_id_ + entries_.size() - 1;
}

const LogEntry* RequestLog::Find(Id id) const {
    if (id < first_id_ || id - first_id_ >= entries_.size()) {
        return nullptr;
    }
    return &entries_[static_cast<std::size_t>(id - first_id_)];
}

void RequestLog::Finish(Id id, unsigned status, std::string_view fault) {
    if (id < first_id_ || id - first_id_ >= entries_.size()) {
        return;
    }
    LogEntry& entry = entries_[static_cast<std::size_t>(id - first_id_)];
    entry.status = status;
    entry.fault = std::string(fault);
}

std::size_t RequestLog::Clear() {
    const std::size_t count = entries_.size();
    first_id_ += count;
    entries_.clear();
    return count;
}

std::string RequestLog::ToJson(std::size_t from) const {
    std::string out = "[";
    for (std::size_t i = from; i < entries_.size(); ++i) {
        const LogEntry& e = entries_[i];
        if (i > from) {
            out.push_back(',');
        }
        // Written from the integer so the six decimals are exact, not a double's rounding.
        out.append("{\"t\":");
        AppendJsonInt(out, e.t_us / 1'000'000);
        const std::string micros = std::to_string(e.t_us % 1'000'000);
        out.push_back('.');
        out.append(6 - micros.size(), '0').append(micros);
        out.append(",\"method\":");
        AppendJsonString(out, e.method);
        out.append(",\"path\":");
        AppendJsonString(out, e.path);
        out.append(",\"query\":");
        AppendJsonString(out, e.query);
        out.append(",\"remote\":");
        AppendJsonString(out, e.remote);
        out.append(",\"status\":");
        AppendJsonInt(out, e.status);
        if (!e.fault.empty()) {
            out.append(",\"fault\":");
            AppendJsonString(out, e.fault);
        }
        out.push_back('}');
    }
    out.push_back(']');
    return out;
}

}  // namespace chatsync::emulator
