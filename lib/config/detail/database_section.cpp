#include "config/detail/database_section.hpp"

#include <cstdint>
#include <utility>

#include "config/detail/map_reader.hpp"
#include "config/detail/text_file.hpp"
#include "sink/dsn.hpp"

namespace chatsync::config::detail {

namespace {

/// A DSN that libpq would refuse is a config error, reported where it is written: left
/// to start-up, it would look like a database that is down, and a service manager would
/// restart the daemon for ever. The message never holds the password (sink::DsnProblem).
void CheckDsn(
    Context& ctx,
    const YamlNode& node,
    const std::string& path,
    const std::string& prefix,
    const std::string& dsn
) {
    if (dsn.empty()) {
        return;
    }
    if (auto problem = sink::DsnProblem(dsn)) {
        ctx.Error(node.mark, path, prefix + *problem);
    }
}

}  // namespace

void ReadDatabase(Context& ctx, const YamlNode& node, const std::string& path, DatabaseConfig& db) {
    MapReader m(ctx, node, path);
    const YamlNode* dsn = m.Get("dsn");
    const YamlNode* dsn_file = m.Get("dsn_file");
    if (dsn != nullptr && dsn_file != nullptr && !dsn->IsNull() && !dsn_file->IsNull()) {
        ctx.Error(
            m.KeyNode("dsn_file")->mark, m.PathOf("dsn_file"), "set dsn or dsn_file, not both"
        );
    } else if (dsn_file != nullptr) {
        if (auto content = ReadSecretFile(ctx, *dsn_file, m.PathOf("dsn_file"))) {
            db.dsn = std::move(*content);
            CheckDsn(ctx, *dsn_file, m.PathOf("dsn_file"), "the file's DSN: ", db.dsn);
        }
    } else if (dsn != nullptr) {
        db.dsn = ReadString(ctx, *dsn, m.PathOf("dsn")).value_or("");
        CheckDsn(ctx, *dsn, m.PathOf("dsn"), "", db.dsn);
    }
    if (const auto v = m.Integer("pool_size", 1, 1000)) {
        db.pool_size = static_cast<std::size_t>(*v);
    }
    if (const auto v = m.Duration("statement_timeout")) {
        db.statement_timeout = *v;
    }
    if (const auto v = m.Duration("connect_timeout", true)) {
        db.connect_timeout = *v;
    }
    if (const YamlNode* e = m.Get("embedded")) {
        MapReader em(ctx, *e, m.PathOf("embedded"));
        if (auto v = em.String("bin_dir"); v && !v->empty()) {
            db.embedded.bin_dir = ctx.Resolve(*v);
        }
        if (const auto v = em.Integer("port", 0, 65535)) {
            db.embedded.port = static_cast<std::uint16_t>(*v);
        }
        if (auto v = em.String("run_as_user")) {
            db.embedded.run_as_user = std::move(*v);
        }
        em.Finish();
    }
    m.Finish();
}

}  // namespace chatsync::config::detail
