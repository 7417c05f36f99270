#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

/// @file
/// The sink's SQL, kept in lib/sink/sql/ and compiled in by cmake/embed.cmake. In the text,
/// `{s}` stands for the quoted state schema (PgSink::Options::state_schema); it is substituted
/// once, when the sink is built. Timestamps cross the boundary as microseconds since the epoch
/// (extract() is exact numeric since PostgreSQL 14).

namespace chatsync::sink::detail {

/// lib/sink/sql/*.sql: statements run as text, or pieces of statements built at run time.
/// (file name, text), in file name order.
std::vector<std::pair<std::string_view, std::string_view>> EmbeddedSql();

/// lib/sink/sql/prepared/*.sql: statements prepared on every connection under the file's name
/// without `.sql`. (file name, text), in file name order.
std::vector<std::pair<std::string_view, std::string_view>> EmbeddedPreparedSql();

/// `sql` with every `{s}` replaced by `quoted_schema`.
std::string Expand(std::string_view sql, std::string_view quoted_schema);

/// The sink's SQL for one state schema.
///
/// @par Thread Safety
/// Immutable after construction.
class Statements {
public:
    explicit Statements(std::string quoted_state_schema);

    /// The text of sql/`name`.sql, expanded. Throws std::logic_error for a name that has no
    /// file: the binary itself is broken then.
    const std::string& Text(std::string_view name) const;

    /// `text` expanded for this state schema.
    std::string Expand(std::string_view text) const;

    /// (statement name, expanded SQL) of every prepared statement.
    const std::vector<std::pair<std::string, std::string>>& Prepared() const { return prepared_; }

    const std::string& quoted_state_schema() const { return quoted_state_schema_; }

private:
    std::string quoted_state_schema_;
    /// (name without `.sql`, expanded text).
    std::vector<std::pair<std::string, std::string>> texts_;
    std::vector<std::pair<std::string, std::string>> prepared_;
};

}  // namespace chatsync::sink::detail
