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

# Waits for "<what> ready ... port=N" in a log and prints N (a listener bound to port 0).
port_of() {
    local log=$1 what=$2
    for _ in $(seq 300); do
        if grep -qE "$what ready .* port=[0-9]+" "$log" 2>/dev/null; then
            grep -oE "$what ready .* port=[0-9]+" "$log" | head -n1 | grep -oE '[0-9]+$'
            return
        fi
        sleep 0.1
    done
    echo "${0##*/}: $what did not start; see $log" >&2
    tail -n 20 "$log" >&2
    exit 1
}
