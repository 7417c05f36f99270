#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests: never for data anyone wants to keep (it runs with
# fsync off, unless PG_DURABLE=1 as for benchmarks, and trusts every local connection).
#
#   pg-cluster.sh start DIR [PORT]   initdb DIR if needed, start it on 127.0.0.1:PORT (default
#                                    55432) with its Unix socket in DIR, create the database
#                                    chatsync_test, and print its DSN on stdout
#   pg-cluster.sh stop DIR           fast shutdown
#
# Run as root, the server runs as the `postgres` system user (PostgreSQL refuses root), which
# then owns DIR; DIR's parent directories must let that user through (/tmp does).
# PG_BIN_DIR overrides where the server binaries are looked for.
set -euo pipefail

readonly kDatabase=chatsync_test
readonly kDefaultPort=55432

die() {
    echo "pg-cluster.sh: $*" >&2
    exit 1
}

usage() {
    echo "usage: $0 start DIR [PORT] | stop DIR" >&2
    exit 2
}

find_bin_dir() {
    if [[ -n "${PG_BIN_DIR:-}" ]]; then
        echo "$PG_BIN_DIR"
        return
    fi
    if [[ -x /usr/lib/postgresql/15/bin/pg_ctl ]]; then
        echo /usr/lib/postgresql/15/bin
        return
    fi
    # Any other packaged major version, newest first.
    local candidate
    candidate=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    if [[ -n "$candidate" && -x "$candidate/pg_ctl" ]]; then
        echo "$candidate"
        return
    fi
    if command -v pg_config >/dev/null 2>&1; then
        pg_config --bindir
        return
    fi
    die "no PostgreSQL server binaries found (install postgresql-15 or set PG_BIN_DIR)"
}

# Runs a command as the cluster's owner: the postgres user when we are root, ourselves
# otherwise. The working directory moves to / so that the postgres user does not trip over an
# unreadable one (root's home).
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}

is_running() {
    as_owner "$bin/pg_ctl" status -D "$pgdata" >/dev/null 2>&1
}

cmd_start() {
    local port=$1
    [[ "$port" =~ ^[0-9]+$ ]] || die "PORT must be a number, got '$port'"

    mkdir -p "$dir"
    if [[ $(id -u) -eq 0 ]]; then
        getent passwd postgres >/dev/null ||
            die "running as root needs the 'postgres' system user (package postgresql-15)"
        chown -R postgres:postgres "$dir"
        as_owner test -w "$dir" ||
            die "the postgres user cannot write $dir (check the permissions of its parents)"
    fi
    chmod 700 "$dir"

    if [[ ! -f "$pgdata/PG_VERSION" ]]; then
        if ! as_owner "$bin/initdb" -D "$pgdata" --auth=trust -E UTF8 --locale=C.UTF-8 \
            -U postgres >"$dir/initdb.log" 2>&1; then
            cat "$dir/initdb.log" >&2
            die "initdb failed (log: $dir/initdb.log)"
        fi
    fi

    if ! is_running; then
        # Test-speed settings: durability is worthless for a cluster thrown away after the run.
        # Benchmarks keep PostgreSQL's defaults (PG_DURABLE=1): a commit waits for its fsync.
        local opts="-c listen_addresses=127.0.0.1 -p $port -k '$dir'"
        if [[ "${PG_DURABLE:-0}" != 1 ]]; then
            opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        fi
        opts+=" -c max_connections=200 -c shared_buffers=64MB"
        if ! as_owner "$bin/pg_ctl" start -w -t 60 -D "$pgdata" -l "$dir/postgres.log" \
            -o "$opts" >/dev/null; then
            tail -n 20 "$dir/postgres.log" >&2 || true
            die "the server did not start (log: $dir/postgres.log)"
        fi
    fi

    # The port of a cluster that was already running may differ from the one asked for.
    local actual_port
    actual_port=$(sed -n 4p "$pgdata/postmaster.pid" 2>/dev/null || true)
    [[ -n "$actual_port" ]] && port=$actual_port

    local exists
    exists=$(as_owner "$bin/psql" -X -q -h "$dir" -p "$port" -U postgres -d postgres -tA \
        -c "SELECT 1 FROM pg_database WHERE datname = '$kDatabase'") ||
        die "cannot query the server on port $port (log: $dir/postgres.log)"
    if [[ "$exists" != "1" ]]; then
        as_owner "$bin/createdb" -h "$dir" -p "$port" -U postgres "$kDatabase" ||
            die "createdb $kDatabase failed"
    fi

    echo "postgresql://postgres@127.0.0.1:$port/$kDatabase"
}

cmd_stop() {
    # Nothing to stop is not an error: cleanup traps call this after a failed start too.
    if [[ ! -d "$pgdata" ]]; then
        echo "pg-cluster.sh: no cluster in $dir" >&2
        return 0
    fi
    if is_running; then
        as_owner "$bin/pg_ctl" stop -D "$pgdata" -m fast -w -t 60 >/dev/null
    fi
}

[[ $# -ge 2 ]] || usage
command=$1
dir=$2
[[ -n "$dir" ]] || usage
dir=$(realpath -m -- "$dir")
pgdata="$dir/pgdata"
bin=$(find_bin_dir)

case "$command" in
    start)
        [[ $# -le 3 ]] || usage
        cmd_start "${3:-$kDefaultPort}"
        ;;
    stop)
        [[ $# -eq 2 ]] || usage
        cmd_stop
        ;;
    *)
        usage
        ;;
esac
