// The JSON flattener on arbitrary upstream pages: ParseJson (as the runner parses a body),
// then AppendRecord for each record as the runner appends a page, with and without declared
// column types. The first byte picks max_nesting and whether types are declared.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/json.hpp"
#include "core/table.hpp"
#include "normalize/flatten.hpp"

namespace {

using chatsync::ColumnType;

/// One declared field of every type, at paths that the seeds use.
const chatsync::normalize::DeclaredTypes kDeclared{
    {"id", ColumnType::kBigint},
    {"active", ColumnType::kBoolean},
    {"score", ColumnType::kDouble},
    {"created_at", ColumnType::kTimestamptz},
    {"name", ColumnType::kText},
    {"tags", ColumnType::kJsonb},
    {"amount", ColumnType::kNumeric},
    {"profile.age", ColumnType::kBigint},
    {"profile.updated_at", ColumnType::kTimestamptz},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::uint8_t mode = data[0];
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    boost::system::error_code ec;
    chatsync::ParseRepairs repairs;
    const boost::json::value page = chatsync::ParseJson(text, ec, repairs);
    if (ec) {
        return 0;
    }
    const chatsync::normalize::FlattenOptions options{
        // A spec's max_nesting is 1..64.
        .max_nesting = 1U + (mode & 0x3FU),
        .declared = (mode & 0x40U) != 0 ? &kDeclared : nullptr,
    };
    chatsync::RowBatch batch;
    if (const auto* record = page.if_object()) {
        (void)chatsync::normalize::AppendRecord(batch, *record, options);
        for (const auto& field : *record) {
            (void)chatsync::normalize::SnakeCase(field.key());
        }
    } else if (const auto* records = page.if_array()) {
        for (const auto& item : *records) {
            const auto* record = item.if_object();
            // The runner refuses a page at its first non-object record or bad value.
            if (record == nullptr || chatsync::normalize::AppendRecord(batch, *record, options)) {
                break;
            }
        }
    }
    (void)chatsync::normalize::ToValue(page);
    return 0;
}
