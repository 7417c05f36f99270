#pragma once

#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <pqxx/pqxx>
#include <unistd.h>

#include "core/redactor.hpp"
#include "core/result.hpp"
#include "core/table.hpp"
#include "sink/pg_sink.hpp"
#include "support/run_async.hpp"

/// @file
/// Shared set-up for the tests that need a real PostgreSQL (CHATSYNC_TEST_PG_DSN). Every test
/// gets its own state schema and source name, so tests can run in parallel on one database.

namespace chatsync::test {

/// Success when `r` holds a value; otherwise a failure that prints the error's kind and
/// message: `ASSERT_TRUE(Ok(r))`.
template <class T>
::testing::AssertionResult Ok(const Result<T>& r) {
    if (r) {
        return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << r.error();
}

/// The test database's DSN, or nullopt when CHATSYNC_TEST_PG_DSN is unset or empty.
inline std::optional<std::string> PgTestDsn() {
    const char* dsn = std::getenv("CHATSYNC_TEST_PG_DSN");
    if (dsn == nullptr || *dsn == '\0') {
        return std::nullopt;
    }
    return std::string(dsn);
}

/// Whether a missing DSN fails the test instead of skipping it (CI sets it).
inline bool PgRequired() {
    const char* v = std::getenv("CHATSYNC_REQUIRE_PG");
    return v != nullptr && std::string(v) == "1";
}

/// A short random suffix for names that must not clash between parallel test processes.
inline std::string UniqueSuffix() {
    std::random_device rd;
    std::uniform_int_distribution<unsigned> dist(0, 0xFFFF);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = std::to_string(::getpid()) + "_";
    for (int i = 0; i < 2; ++i) {
        unsigned v = dist(rd);
        for (int d = 0; d < 4; ++d) {
            out.push_back(kHex[v & 0xFU]);
            v >>= 4U;
        }
    }
    return out;
}

/// Cell constructors for readable batches.
inline std::optional<Value> Int(std::string text) {
    return Value{std::move(text), ColumnType::kBigint};
}

inline std::optional<Value> Dbl(std::string text) {
    return Value{std::move(text), ColumnType::kDouble};
}

inline std::optional<Value> Txt(std::string text) {
    return Value{std::move(text), ColumnType::kText};
}

inline std::optional<Value> Bool(bool b) {
    return Value{b ? "true" : "false", ColumnType::kBoolean};
}

inline std::optional<Value> Ts(std::string text) {
    return Value{std::move(text), ColumnType::kTimestamptz};
}

inline std::optional<Value> Json(std::string text) {
    return Value{std::move(text), ColumnType::kJsonb};
}

inline const std::optional<Value> kNull = std::nullopt;

/// A column of a test batch: its source path and proposed name.
struct Col {
    std::string path;
    std::string name;
};

/// Builds a batch; each column's type is the Widen() of its non-null cells.
inline RowBatch MakeBatch(
    const std::vector<Col>& columns,
    const std::vector<std::vector<std::optional<Value>>>& rows
) {
    RowBatch batch;
    std::vector<std::size_t> index;
    for (const auto& c : columns) {
        index.push_back(batch.Column(c.path, c.name));
    }
    for (const auto& row : rows) {
        batch.AddRow();
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (row[i]) {
                batch.Set(index[i], *row[i]);
            }
        }
    }
    return batch;
}

/// Columns whose name is their path.
inline std::vector<Col> Cols(const std::vector<std::string>& paths) {
    std::vector<Col> out;
    for (const auto& p : paths) {
        out.push_back(Col{p, p});
    }
    return out;
}

/// A batch of rows for the two columns `id` and `name`.
inline RowBatch People(const std::vector<std::vector<std::optional<Value>>>& rows) {
    return MakeBatch(Cols({"id", "name"}), rows);
}

/// A fixture with a migrated PgSink on a private state schema and a private source schema.
class PgFixture : public ::testing::Test {
protected:
    void SetUp() override {
        const auto dsn = PgTestDsn();
        if (!dsn) {
            if (PgRequired()) {
                FAIL() << "CHATSYNC_TEST_PG_DSN is not set and CHATSYNC_REQUIRE_PG=1";
            }
            GTEST_SKIP() << "CHATSYNC_TEST_PG_DSN is not set";
        }
        dsn_ = *dsn;
        const std::string suffix = UniqueSuffix();
        state_schema_ = "cs_state_" + suffix;
        source_ = "cs_src_" + suffix;
        application_name_ = "chatsync_test_" + suffix;
        admin_ = std::make_unique<pqxx::connection>(dsn_);
        // Timestamps read back as text in a known zone, whatever the server's default.
        admin_->set_variable("TimeZone", "'UTC'");
        sink_ = MakeSink();
        const auto migrated = Run(sink_->Migrate());
        ASSERT_TRUE(Ok(migrated));
    }

    void TearDown() override {
        if (sink_) {
            sink_->Stop();
        }
        if (admin_) {
            pqxx::nontransaction tx(*admin_);
            tx.exec("DROP SCHEMA IF EXISTS " + tx.quote_name(state_schema_) + " CASCADE");
            tx.exec("DROP SCHEMA IF EXISTS " + tx.quote_name(source_) + " CASCADE");
        }
    }

    /// A sink on the test's state schema, as replica `replica`. The DSN gets a per-test
    /// application_name so a test can find (and kill) its own sessions without touching
    /// parallel tests.
    std::unique_ptr<sink::PgSink> MakeSink(const std::string& replica = "") {
        const bool uri = dsn_.rfind("postgres", 0) == 0 && dsn_.find("://") != std::string::npos;
        std::string dsn = dsn_;
        if (uri) {
            dsn += (dsn.find('?') == std::string::npos ? "?" : "&");
            dsn += "application_name=" + application_name_;
        } else {
            dsn += " application_name=" + application_name_;
        }
        sink::PgSink::Options options;
        options.dsn = dsn;
        options.state_schema = state_schema_;
        options.replica = replica;
        return std::make_unique<sink::PgSink>(options, redactor_);
    }

    template <class T>
    T Run(Task<T> task) {
        return RunAsync(ioc_, std::move(task));
    }

    /// Runs SQL on a separate connection, outside any sink transaction.
    pqxx::result Query(const std::string& sql) {
        pqxx::nontransaction tx(*admin_);
        return tx.exec(sql);
    }

    /// A single value as text ("" for NULL).
    std::string Scalar(const std::string& sql) {
        const auto r = Query(sql);
        if (r.empty() || r[0][0].is_null()) {
            return {};
        }
        return r[0][0].as<std::string>();
    }

    /// `"source"."table"`.
    std::string Table(const std::string& table) const {
        return "\"" + source_ + "\".\"" + table + "\"";
    }

    /// column name -> format_type of the test source's `table`.
    std::map<std::string, std::string> ColumnTypes(const std::string& table) {
        std::map<std::string, std::string> out;
        for (const auto& row : Query(
                 "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                 "WHERE a.attrelid = to_regclass(" +
                 admin_->quote(Table(table)) + ") AND a.attnum > 0 AND NOT a.attisdropped"
             )) {
            out[row[0].as<std::string>()] = row[1].as<std::string>();
        }
        return out;
    }

    /// The primary key columns of the test source's `table`, in key order.
    std::vector<std::string> PrimaryKey(const std::string& table) {
        std::vector<std::string> out;
        for (const auto& row : Query(
                 "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = "
                 "i.indrelid AND a.attnum = ANY (i.indkey) WHERE i.indrelid = to_regclass(" +
                 admin_->quote(Table(table)) +
                 ") AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)"
             )) {
            out.push_back(row[0].as<std::string>());
        }
        return out;
    }

    /// `"state_schema".table`.
    std::string StateTable(const std::string& table) const {
        return "\"" + state_schema_ + "\"." + table;
    }

    sink::PageCommit Page(
        const std::string& resource,
        std::vector<sink::TableWrite> tables,
        std::string checkpoint = "{}",
        std::string run_id = "run-1"
    ) const {
        sink::PageCommit page;
        page.schema = source_;
        page.source = source_;
        page.resource = resource;
        page.run_id = std::move(run_id);
        page.tables = std::move(tables);
        page.checkpoint = std::move(checkpoint);
        return page;
    }

    static sink::TableWrite Write(
        std::string table,
        std::vector<std::string> key_paths,
        RowBatch rows,
        std::optional<std::string> seen_pass = std::nullopt,
        bool want_changed_rows = false
    ) {
        sink::TableWrite tw;
        tw.table = std::move(table);
        tw.key_paths = std::move(key_paths);
        tw.rows = std::move(rows);
        tw.seen_pass = std::move(seen_pass);
        tw.want_changed_rows = want_changed_rows;
        return tw;
    }

    /// Commits one page and expects success.
    sink::WriteResult Commit(sink::PageCommit page) {
        auto r = Run(sink_->CommitPage(std::move(page)));
        EXPECT_TRUE(Ok(r));
        return r.has_value() ? *r : sink::WriteResult{};
    }

    net::io_context ioc_;
    Redactor redactor_;
    std::string dsn_;
    std::string state_schema_;
    std::string source_;
    std::string application_name_;
    std::unique_ptr<pqxx::connection> admin_;
    /// Last, so it is destroyed first, while the redactor it refers to still exists.
    std::unique_ptr<sink::PgSink> sink_;
};

}  // namespace chatsync::test
