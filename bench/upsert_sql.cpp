// chatsync-bench-sql: prints the statements chatsyncd would use to write a table's rows into
// another table, so that bench/sync.sh can time PostgreSQL running exactly those statements
// on its own, with no chatsyncd in the way.
//
//   chatsync-bench-sql DSN SOURCE TARGET KEY_PATH...
//
// SOURCE is a table chatsyncd wrote (its column comments name the record paths); TARGET an
// existing table of the same layout. Prints three lines: the staging columns a batch is
// copied into, after the ordinal column; the CREATE TEMP TABLE statement for a staging table
// named `_chatsync_stage`; and the upsert from it into TARGET ($1 is the run id).

#include <iostream>
#include <string>
#include <vector>

#include "sink/upsert_statements.hpp"

int main(int argc, char** argv) {
    if (argc < 5) {
        std::cerr << "usage: chatsync-bench-sql DSN SOURCE TARGET KEY_PATH...\n";
        return 2;
    }
    const std::vector<std::string> keys(argv + 4, argv + argc);
    const auto statements = chatsync::sink::DescribeUpsert(argv[1], argv[2], argv[3], keys);
    if (!statements) {
        std::cerr << "chatsync-bench-sql: " << statements.error().message() << "\n";
        return 1;
    }
    std::cout << statements->staging_columns << "\n"
              << statements->create_staging << "\n"
              << statements->upsert << "\n";
    return 0;
}
