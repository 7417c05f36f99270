# Sourced by the benchmark scripts, from the repository's root: a scratch directory in $work
# and, on exit, every process in $pids killed, the PostgreSQL cluster in $work/pg (if any)
# stopped and the directory removed.
work=$(mktemp -d /tmp/chatsync-bench.XXXXXX)
# Run as root, the cluster belongs to the postgres user, who must reach its directory.
chmod 755 "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    scripts/pg-cluster.sh stop "$work/pg" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
