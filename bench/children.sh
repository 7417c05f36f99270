#!/usr/bin/env bash
# Children benchmark: how fast chatsyncd syncs a listing whose every record has a child
# listing of its own, as tickets have comments and conversations messages. The emulator's
# generic API serves PARENTS wide records (bench/sync.sh's), each with 1 to 3 comments
# (1 + id % 3) at /generic/records/{id}/comments: one request per parent, no rate limit.
#
#   full sync, children        chatsyncd once, empty tables: PARENTS parent rows in pages of
#                              100, then the comments of each parent that page inserted
#   the same, baseline         the same sync by another chatsyncd binary (CHATSYNC_BASELINE_BIN,
#                              say one built from an earlier commit), into its own schema, on
#                              the same PostgreSQL and emulator, in the same run
#
# PostgreSQL is a private cluster with its durable defaults (fsync on, synchronous_commit on);
# each phase starts after a CHECKPOINT. For each phase it prints parents/s, children/s, wall
# and CPU seconds, peak RSS, the transactions PostgreSQL committed (every one of the run:
# pages, run log, state) and the WAL written per synced row.
#
#   bench/children.sh [PARENTS] [CONCURRENCY]    (defaults: 20000 parents, 4 requests at once)
#   CHATSYNC_BASELINE_BIN=/path/to/old/chatsyncd bench/children.sh
#
# Needs a build (scripts/build.sh; CHATSYNC_BUILD_DIR overrides build/) and the bench packages
# (scripts/packages.sh install bench). Exits 1 when the target (2,000 parents/s) is missed.
set -euo pipefail
cd "$(dirname "$0")/.."
parents=${1:-20000}
concurrency=${2:-4}
bin=${CHATSYNC_BUILD_DIR:-build}
baseline_bin=${CHATSYNC_BASELINE_BIN:-}
[[ "$parents" =~ ^[1-9][0-9]*$ && "$concurrency" =~ ^[1-9][0-9]*$ ]] ||
    { echo "usage: bench/children.sh [PARENTS] [CONCURRENCY]" >&2; exit 64; }
for tool in daemon/chatsyncd emulator/chatsync-emulator; do
    [[ -x "$bin/$tool" ]] || { echo "bench: no $bin/$tool: build first (scripts/build.sh)" >&2; exit 1; }
done
[[ -z "$baseline_bin" || -x "$baseline_bin" ]] ||
    { echo "bench: CHATSYNC_BASELINE_BIN=$baseline_bin is not an executable" >&2; exit 1; }

source bench/common.sh

fail() {
    echo "bench: $*" >&2
    exit 1
}

dsn=$(PG_DURABLE=1 scripts/pg-cluster.sh start "$work/pg" $(( 20000 + RANDOM % 20000 )))
psql() { command psql -X -q -v ON_ERROR_STOP=1 -tA "$dsn" "$@"; }

"$bin/emulator/chatsync-emulator" --mode generic --records "$parents" --wide-records \
    --port-file "$work/emulator.port" >"$work/emulator.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1200); do
    [[ -s "$work/emulator.port" ]] && break
    sleep 0.1
done
[[ -s "$work/emulator.port" ]] || { tail -n 20 "$work/emulator.log" >&2; fail "the emulator did not start"; }
emu="http://127.0.0.1:$(cat "$work/emulator.port")"

cat >"$work/spec.yaml" <<YAML
name: bench_children
base_url: "{{ config.base_url }}"
params:
  base_url: {required: true}
rate_limit: {requests_per_minute: 0, concurrency: $concurrency}
schedule: {interval: 1h}
resources:
  - name: records
    request:
      path: /generic/page
      query: {per_page: "100"}
    records: data
    primary_key: [id]
    pagination: {type: page_number, page_size: 100, total_pages_path: total_pages}
  - name: comments
    parent: {resource: records, fields: {record_id: id}}
    request:
      path: "/generic/records/{{ parent.id }}/comments"
      query: {per_page: "10"}
    records: data
    primary_key: [id]
    pagination: {type: page_number, page_size: 10, has_more_path: has_more}
YAML

# measure LOG CMD...: runs CMD with its output in LOG; prints "wall_s cpu_s peak_rss_kib status"
# (the child's own CPU, user + sys, and ru_maxrss, from wait4).
measure() {
    python3 - "$@" <<'PY'
import os, subprocess, sys, time
start = time.monotonic()
with open(sys.argv[1], "wb") as log:
    child = subprocess.Popen(sys.argv[2:], stdout=log, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(child.pid, 0)
print(f"{time.monotonic() - start:.3f} {usage.ru_utime + usage.ru_stime:.3f} {usage.ru_maxrss} "
      f"{os.waitstatus_to_exitcode(status)}")
PY
}

# Transactions committed in the database so far (the statistics of exited backends included).
commits() {
    sleep 1  # a backend reports its counts when it goes idle or exits
    psql -c "SELECT pg_stat_clear_snapshot()" >/dev/null
    psql -c "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
}

# phase LABEL SOURCE CHATSYNCD: one measured `chatsyncd once` of a fresh source SOURCE.
phase() {
    local label=$1 source=$2 daemon=$3 lsn before after out wall cpu rss status wal n_parents n_children
    cat >"$work/$source.yaml" <<YAML
data_dir: $work/data-$source
database: {dsn: "$dsn"}
admin: {listen: ""}
log: {level: info}
sources:
  - name: $source
    connector_file: $work/spec.yaml
    config: {base_url: "$emu"}
YAML
    psql -c CHECKPOINT
    lsn=$(psql -c "SELECT pg_current_wal_lsn()")
    before=$(commits)
    out=$(measure "$work/$source.log" "$daemon" once --config "$work/$source.yaml")
    read -r wall cpu rss status <<<"$out"
    (( status == 0 )) || { tail -n 30 "$work/$source.log" >&2; fail "chatsyncd once exited $status in phase '$label'"; }
    after=$(commits)
    wal=$(psql -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn')")
    n_parents=$(psql -c "SELECT count(*) FROM $source.records")
    n_children=$(psql -c "SELECT count(*) FROM $source.comments")
    (( n_parents == parents )) || fail "phase '$label' wrote $n_parents parents, not $parents"
    # Record i has 1 + i % 3 comments.
    local expected=$(( parents + parents / 3 * 3 + (parents % 3 >= 1 ? 1 : 0) + (parents % 3 >= 2 ? 2 : 0) ))
    local distinct
    distinct=$(psql -c "SELECT count(DISTINCT id) FROM $source.comments")
    (( n_children == expected && distinct == expected )) ||
        fail "phase '$label' wrote $n_children comments ($distinct distinct), not $expected"
    # The statistics queries of commits() add three commits of their own.
    echo -e "$label\t$n_parents\t$n_children\t$wall\t$cpu\t$rss\t$(( after - before - 3 ))\t$wal" >>"$work/results.tsv"
}

if [[ -n "$baseline_bin" ]]; then
    echo "bench: baseline ($baseline_bin): $parents parents with their comments..."
    phase "full sync, children (baseline)" bench_base "$baseline_bin"
fi
echo "bench: $bin/daemon/chatsyncd: $parents parents with their comments..."
phase "full sync, children" bench_children "$bin/daemon/chatsyncd"

python3 - "$work/results.tsv" "$concurrency" "$(nproc)" "$(psql -c 'SHOW server_version')" <<'PY'
import sys

results, concurrency, cores, version = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
rows = []
phases = {}
for line in open(results):
    label, parents, children, wall, cpu, rss, commits, wal = line.rstrip("\n").split("\t")
    parents, children, commits, wal = int(parents), int(children), int(commits), int(wal)
    wall, cpu, rss = float(wall), float(cpu), int(rss) / 1024
    phases[label] = dict(parents=parents, wall=wall)
    rows.append([label, f"{parents / wall:.0f}", f"{children / wall:.0f}", f"{wall:.1f}",
                 f"{cpu:.1f}", f"{rss:.1f}", str(parents), str(children), str(commits),
                 f"{wal / (parents + children):.0f}"])
header = ["phase", "parents/s", "children/s", "wall s", "chatsyncd CPU s", "peak RSS MiB",
          "parents", "children", "commits", "WAL bytes/row"]
print()
print(f"PostgreSQL {version} (durable defaults), {cores} cores, concurrency {concurrency}, "
      f"no rate limit, pages of 100 parents, 1-3 comments each")
widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
for r in [header] + rows:
    print("  ".join([r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]))
print()
new = phases["full sync, children"]
rate = new["parents"] / new["wall"]
base = phases.get("full sync, children (baseline)")
if base:
    print(f"{rate / (base['parents'] / base['wall']):.1f}x the baseline's parents/s")
ok = rate >= 2000
print(f"{'PASS' if ok else 'MISS'}  at least 2,000 parents/s: {rate:.0f}")
sys.exit(0 if ok else 1)
PY
