// The JivoChat webhook strategy on arbitrary bodies, as the webhook listener hands them over:
// every body is mapped (malformed ones are flagged, never refused). The first byte picks the
// channel. Besides crashes and sanitizer reports, a row the database could not take is a
// finding: a table the strategy does not declare, an unknown column, a NUL in a value, or a
// key column without a value.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "connectors/webhook_strategy.hpp"
#include "sink/sink.hpp"

namespace {

using chatsync::connectors::WebhookChannel;

[[noreturn]] void Fail(const char* what, std::string_view detail) {
    std::fprintf(
        stderr, "fuzz_webhook: %s: %.*s\n", what, static_cast<int>(detail.size()), detail.data()
    );
    std::abort();
}

void CheckRow(
    const chatsync::sink::EventRow& row,
    const std::vector<chatsync::sink::EventTable>& tables
) {
    const auto table = std::find_if(tables.begin(), tables.end(), [&](const auto& t) {
        return t.name == row.table;
    });
    if (table == tables.end()) {
        Fail("row for an undeclared table", row.table);
    }
    for (const auto& [column, value] : row.values) {
        const auto& columns = table->columns;
        const bool declared =
            std::any_of(columns.begin(), columns.end(), [&name = column](const auto& c) {
                return c.name == name;
            });
        if (!declared) {
            Fail("row with an undeclared column", column);
        }
        if (value && value->find('\0') != std::string::npos) {
            Fail("value with a NUL byte", column);
        }
    }
    for (const auto& key : table->key) {
        const auto it = std::find_if(row.values.begin(), row.values.end(), [&](const auto& v) {
            return v.first == key;
        });
        if (it == row.values.end() || !it->second) {
            Fail("row without its key column", key);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto strategy = chatsync::connectors::MakeWebhookStrategy("jivochat");
    static const auto tables = strategy->Tables();
    if (size == 0) {
        return 0;
    }
    const auto channel = (data[0] & 1U) != 0 ? WebhookChannel::kChatApi : WebhookChannel::kWebhook;
    const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
    const auto mapped = strategy->Map(channel, body, "fuzz-event-key", "2026-01-02T03:04:05Z");
    for (const auto& row : mapped.rows) {
        CheckRow(row, tables);
    }
    return 0;
}
