#!/usr/bin/env bash
# Sync benchmark: how fast chatsyncd copies a REST listing into PostgreSQL, next to
# PostgreSQL's own rate for the same rows and the same statements, and what it costs in CPU,
# memory and WAL. Every phase reads RECORDS wide records from chatsync-emulator's generic API
# (page-number pagination, soft deletes, no incremental cursor: every sync lists everything):
#
#   full sync                  chatsyncd once, empty tables
#   PostgreSQL alone           the same rows through chatsyncd's staging table and upsert,
#                              from one psql session (chatsync-bench-sql prints the SQL)
#   re-sync, nothing changed   chatsyncd once again: should write nothing
#   re-sync, 10% changed       after POST /_admin/mutate {"fraction": 0.1}
#   full sync, 100000 records  another source alone, to compare peak memory
#   idle                       chatsyncd run with nothing due, CPU over 60 s
#
# PostgreSQL is a private cluster with its durable defaults (fsync on, synchronous_commit on).
# Each phase starts after a CHECKPOINT, so that its WAL and CPU are its own (its WAL then
# includes a full-page image of every page it is first to change, as any write after a
# checkpoint does: a 10% change spread over the table rewrites most of it in WAL).
#
#   bench/sync.sh [RECORDS] [PAGE_SIZE]     (defaults: 1000000 records, pages of 1000)
#
# Needs a build (scripts/build.sh; CHATSYNC_BUILD_DIR overrides build/) and the test packages
# (scripts/packages.sh install bench: PostgreSQL, curl, python3). Exits 1 when a target is missed.
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-1000000}
page_size=${2:-1000}
small_records=100000
idle_seconds=60
bin=${CHATSYNC_BUILD_DIR:-build}
[[ "$records" =~ ^[1-9][0-9]*$ && "$page_size" =~ ^[1-9][0-9]*$ ]] ||
    { echo "usage: bench/sync.sh [RECORDS] [PAGE_SIZE]" >&2; exit 64; }
for tool in daemon/chatsyncd emulator/chatsync-emulator bench/chatsync-bench-sql; do
    [[ -x "$bin/$tool" ]] || { echo "bench: no $bin/$tool: build first (scripts/build.sh)" >&2; exit 1; }
done

source bench/common.sh

fail() {
    echo "bench: $*" >&2
    exit 1
}

# Sends SIGTERM to a process started here, waits for it and forgets it; returns its status.
stop_process() {
    local pid=$1 status=0 kept=() p
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" || status=$?
    for p in "${pids[@]}"; do [[ $p == "$pid" ]] || kept+=("$p"); done
    pids=("${kept[@]}")
    return "$status"
}

dsn=$(PG_DURABLE=1 scripts/pg-cluster.sh start "$work/pg" $(( 20000 + RANDOM % 20000 )))
psql() { command psql -X -q -v ON_ERROR_STOP=1 -tA "$dsn" "$@"; }
postmaster=$(head -n1 "$work/pg/pgdata/postmaster.pid")

# Starts an emulator serving N wide generic records and waits until it listens (generating a
# million records takes a while); sets emulator_url and emulator_pid.
start_emulator() {
    local name=$1 n=$2
    "$bin/emulator/chatsync-emulator" --mode generic --records "$n" --wide-records \
        --max-page-size $(( page_size > 1000 ? page_size : 1000 )) \
        --port-file "$work/$name.port" >"$work/$name.log" 2>&1 &
    emulator_pid=$!
    pids+=("$emulator_pid")
    for _ in $(seq 1200); do
        if [[ -s "$work/$name.port" ]]; then
            emulator_url="http://127.0.0.1:$(cat "$work/$name.port")"
            return
        fi
        kill -0 "$emulator_pid" 2>/dev/null || break
        sleep 0.1
    done
    tail -n 20 "$work/$name.log" >&2
    fail "the emulator ($name) did not start"
}

# measure.py LOG CMD...: runs CMD with its output in LOG and prints
#   wall_s cpu_s peak_rss_kib pg_cpu_s exit_status
# cpu_s and peak_rss_kib are the child's own (wait4's rusage: user + sys, ru_maxrss).
# pg_cpu_s is PostgreSQL's CPU over the same time: the postmaster's utime + stime + cutime +
# cstime (backends that exited during the run are in cutime/cstime once reaped) plus utime +
# stime of its live children (backends, checkpointer, WAL writer...), after minus before.
cat >"$work/measure.py" <<'PY'
import os, subprocess, sys, time

postmaster = int(os.environ["BENCH_POSTMASTER"])
hz = os.sysconf("SC_CLK_TCK")

def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    return text[text.rindex(")") + 2:].split()  # from field 3 (state) on: ppid is [1]

def pg_cpu_ticks():
    s = stat(postmaster)
    total = sum(int(x) for x in s[11:15])  # utime stime cutime cstime
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            s = stat(entry)
        except OSError:
            continue  # exited meanwhile
        if int(s[1]) == postmaster:
            total += int(s[11]) + int(s[12])
    return total

pg_before = pg_cpu_ticks()
start = time.monotonic()
with open(sys.argv[1], "wb") as log:
    child = subprocess.Popen(sys.argv[2:], stdout=log, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(child.pid, 0)
wall = time.monotonic() - start
time.sleep(0.5)  # let the client's backends finish exiting and be reaped into cutime
pg = (pg_cpu_ticks() - pg_before) / hz
print(f"{wall:.3f} {usage.ru_utime + usage.ru_stime:.3f} {usage.ru_maxrss} {pg:.3f} "
      f"{os.waitstatus_to_exitcode(status)}")
PY
measure() { BENCH_POSTMASTER=$postmaster python3 "$work/measure.py" "$@"; }

# CHECKPOINT, then print the WAL position a phase starts from.
checkpoint() {
    psql -c CHECKPOINT
    psql -c "SELECT pg_current_wal_lsn()"
}
wal_since() { psql -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$1')"; }

# One row of the results table, tab-separated:
#   phase records_read wall_s chatsyncd_cpu_s pg_cpu_s peak_rss_kib rows_written wal_bytes
record() { (IFS=$'\t'; echo "$*") >>"$work/results.tsv"; }

# Reads every record in pages of PER_PAGE over one connection (curl's URL globbing), without
# any processing; prints "per_page seconds bytes".
fetch_rate() {
    local per_page=$1 pages=$(( (records + $1 - 1) / $1 )) start bytes
    start=$EPOCHREALTIME
    bytes=$(curl -sf -o /dev/null -w '%{size_download}\n' \
        "$emu/generic/page?per_page=$per_page&page=[1-$pages]" | awk '{ s += $1 } END { print s }') ||
        fail "fetching pages of $per_page from the emulator failed"
    echo "$per_page $(awk "BEGIN { print $EPOCHREALTIME - $start }") $bytes"
}

# A config with one source NAME reading the emulator at URL through spec.yaml.
write_config() {
    local name=$1 url=$2
    cat >"$work/$name.yaml" <<YAML
data_dir: $work/data-$name
database: {dsn: "$dsn"}
admin: {listen: ""}
log: {level: info}
sources:
  - name: $name
    connector_file: $work/spec.yaml
    config: {base_url: "$url"}
YAML
}

# sync_phase LABEL SOURCE: one measured `chatsyncd once` of SOURCE (config $work/SOURCE.yaml);
# rows written and records read come from the run's chatsync.runs row.
sync_phase() {
    local label=$1 source=$2 lsn out wall cpu rss pg_cpu status written seen
    lsn=$(checkpoint)
    out=$(measure "$work/$source.once.log" "$bin/daemon/chatsyncd" once --config "$work/$source.yaml")
    read -r wall cpu rss pg_cpu status <<<"$out"
    if (( status != 0 )); then
        tail -n 30 "$work/$source.once.log" >&2
        fail "chatsyncd once exited $status in phase '$label'"
    fi
    IFS='|' read -r written seen <<<"$(psql -c "SELECT rows_written, rows_written + rows_unchanged
        FROM chatsync.runs WHERE source = '$source' ORDER BY started_at DESC LIMIT 1")"
    record "$label" "$seen" "$wall" "$cpu" "$pg_cpu" "$rss" "$written" "$(wal_since "$lsn")"
}

# PostgreSQL's own rate for the synced rows: chatsyncd's staging table and upsert (printed by
# chatsync-bench-sql for a copy of bench.records) from one psql session, fed by COPY from a
# file exported beforehand (not timed).
baseline_phase() {
    local lsn out wall cpu rss pg_cpu status rows
    psql -c "CREATE TABLE bench.baseline (LIKE bench.records INCLUDING ALL)"
    "$bin/bench/chatsync-bench-sql" "$dsn" bench.records bench.baseline id >"$work/baseline-sql.txt"
    # One line: a backslash command ends at the end of its line.
    psql -c "\\copy (SELECT row_number() OVER (ORDER BY id), $(sed -n 1p "$work/baseline-sql.txt") FROM bench.records) TO '$work/rows.tsv'"
    {
        echo "BEGIN;"
        echo "$(sed -n 2p "$work/baseline-sql.txt");"
        echo "\\copy _chatsync_stage (_chatsync_ord, $(sed -n 1p "$work/baseline-sql.txt")) FROM '$work/rows.tsv'"
        echo "PREPARE up(text) AS $(sed -n 3p "$work/baseline-sql.txt");"
        echo "EXECUTE up('baseline');"
        echo "COMMIT;"
    } >"$work/baseline.sql"
    lsn=$(checkpoint)
    out=$(measure "$work/baseline.log" psql -X -q -v ON_ERROR_STOP=1 -tA "$dsn" -f "$work/baseline.sql")
    read -r wall cpu rss pg_cpu status <<<"$out"
    (( status == 0 )) || { cat "$work/baseline.log" >&2; fail "the baseline session failed"; }
    rows=$(psql -c "SELECT count(*) FROM bench.baseline")
    (( rows == records )) || fail "the baseline wrote $rows rows, not $records"
    record "PostgreSQL alone (baseline)" "$rows" "$wall" - "$pg_cpu" - "$rows" "$(wal_since "$lsn")"
    psql -c "DROP TABLE bench.baseline"
}

# The 1M config under `chatsyncd run`: its one resource was just synced and is due in an hour,
# so the daemon should sleep. Sets idle_cpu: its CPU seconds over idle_seconds.
idle_phase() {
    local runs_before daemon ticks_before ticks_after status=0
    runs_before=$(psql -c "SELECT count(*) FROM chatsync.runs")
    "$bin/daemon/chatsyncd" run --config "$work/bench.yaml" >"$work/idle.log" 2>&1 &
    daemon=$!
    pids+=("$daemon")
    for _ in $(seq 300); do
        grep -q "chatsyncd started" "$work/idle.log" && break
        kill -0 "$daemon" 2>/dev/null || break
        sleep 0.1
    done
    grep -q "chatsyncd started" "$work/idle.log" ||
        { tail -n 30 "$work/idle.log" >&2; fail "chatsyncd run did not start"; }
    sleep 5  # let start-up work finish: the target is the steady state
    ticks_before=$(awk '{ print $14 + $15 }' "/proc/$daemon/stat")
    sleep "$idle_seconds"
    ticks_after=$(awk '{ print $14 + $15 }' "/proc/$daemon/stat")
    # Not yet reaped, a daemon that died is a zombie (state Z) with its stat file still there.
    [[ $(awk '{ print $3 }' "/proc/$daemon/stat") != Z ]] ||
        { tail -n 30 "$work/idle.log" >&2; fail "chatsyncd run exited while idle"; }
    stop_process "$daemon" || status=$?
    (( status == 0 )) || { tail -n 30 "$work/idle.log" >&2; fail "chatsyncd run exited $status on SIGTERM"; }
    # Only a sync's end is logged, so a sync still running at SIGTERM shows up only as a run.
    if grep -E " sync (finished|failed|held|skipped) " "$work/idle.log" >&2 ||
        [[ $(psql -c "SELECT count(*) FROM chatsync.runs") != "$runs_before" ]]; then
        fail "chatsyncd run started a sync while it should have been idle (see above)"
    fi
    idle_cpu=$(awk "BEGIN { print ($ticks_after - $ticks_before) / $(getconf CLK_TCK) }")
}

cat >"$work/spec.yaml" <<YAML
name: bench
base_url: "{{ config.base_url }}"
params:
  base_url: {required: true}
schedule: {interval: 1h}
resources:
  - name: records
    request:
      path: /generic/page
      query: {per_page: "$page_size"}
    records: data
    primary_key: [id]
    pagination: {type: page_number, page_size: $page_size, total_pages_path: total_pages}
    soft_delete: true
YAML

echo "bench: generating $records wide records in the emulator..."
start_emulator emulator "$records"
emu=$emulator_url
write_config bench "$emu"

echo "bench: fetching every record in pages of 100 and of 1000, no processing..."
fetch_rate 100 >"$work/fetch.txt"
fetch_rate 1000 >>"$work/fetch.txt"

echo "bench: full sync of $records records..."
sync_phase "full sync" bench

echo "bench: PostgreSQL alone, the same $records rows and statements..."
baseline_phase

echo "bench: re-sync, nothing changed..."
sync_phase "re-sync, nothing changed" bench

changed=$(curl -sf -X POST "$emu/_admin/mutate" -d '{"fraction": 0.1}' |
    python3 -c 'import json, sys; print(len(json.load(sys.stdin)["changed"]))') ||
    fail "POST /_admin/mutate failed"
echo "bench: re-sync after changing $changed records (10%)..."
sync_phase "re-sync, 10% changed" bench

if (( records > small_records )); then
    echo "bench: full sync of $small_records records alone, for peak memory..."
    start_emulator emulator-small "$small_records"
    write_config bench_small "$emulator_url"
    sync_phase "full sync, $small_records records" bench_small
    stop_process "$emulator_pid" || true
else
    echo "bench: no separate $small_records-record sync: RECORDS is not more than that"
fi

echo "bench: chatsyncd run with nothing due, CPU over ${idle_seconds} s..."
idle_phase

python3 - "$work/results.tsv" "$work/fetch.txt" "$records" "$page_size" "$changed" \
    "$small_records" "$idle_cpu" "$idle_seconds" "$(nproc)" "$(psql -c 'SHOW server_version')" \
    "$(psql -c 'SHOW fsync')" "$(psql -c 'SHOW synchronous_commit')" <<'PY'
import sys

results_file, fetch_file = sys.argv[1:3]
records, page_size, changed, small_records = (int(x) for x in sys.argv[3:7])
idle_cpu, idle_seconds = float(sys.argv[7]), int(sys.argv[8])
cores, version, fsync, sync_commit = sys.argv[9:13]
mib = 1024 * 1024

fetches = [line.split() for line in open(fetch_file)]
fetch_bytes = {int(ps): int(b) for ps, _, b in fetches}
print()
print(f"PostgreSQL {version} (fsync {fsync}, synchronous_commit {sync_commit}), {cores} cores, "
      f"{records} records, pages of {page_size}, "
      f"{fetch_bytes[1000] / records:.0f} bytes per record on the wire")
for ps, seconds, size in fetches:
    seconds = float(seconds)
    print(f"emulator pages of {ps:>4}, fetched without processing: "
          f"{records / seconds:10.0f} records/s {int(size) / 1e6 / seconds:8.1f} MB/s")

phases = {}
for line in open(results_file):
    name, read, wall, cs_cpu, pg_cpu, rss, written, wal = line.rstrip("\n").split("\t")
    phases[name] = dict(read=int(read), wall=float(wall), cs_cpu=cs_cpu, pg_cpu=float(pg_cpu),
                        rss=None if rss == "-" else int(rss) / 1024, written=int(written),
                        wal=int(wal) / mib)
    phases[name]["rate"] = phases[name]["read"] / phases[name]["wall"]
base = phases["PostgreSQL alone (baseline)"]

header = ["phase", "records/s", "wall s", "chatsyncd CPU s", "PostgreSQL CPU s",
          "chatsyncd peak RSS MiB", "rows written", "WAL MiB", "rate ÷ PostgreSQL's own"]
rows = [[name, f"{p['rate']:.0f}", f"{p['wall']:.1f}",
         "-" if p["cs_cpu"] == "-" else f"{float(p['cs_cpu']):.1f}", f"{p['pg_cpu']:.1f}",
         "-" if p["rss"] is None else f"{p['rss']:.1f}", str(p["written"]), f"{p['wal']:.1f}",
         f"{p['rate'] / base['rate']:.2f}"] for name, p in phases.items()]
widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
print()
for r in [header] + rows:
    print("  ".join([r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]))
print(f"idle (chatsyncd run, nothing due): {idle_cpu:.2f} CPU s over {idle_seconds} s")
print()

full, same = phases["full sync"], phases["re-sync, nothing changed"]
changed_phase = phases["re-sync, 10% changed"]
small = phases.get(f"full sync, {small_records} records")
missed = False

def target(ok, text):
    global missed
    missed = missed or ok is False
    print(f"{'SKIP' if ok is None else 'PASS' if ok else 'MISS'}  {text}")

target(full["rate"] >= 0.85 * base["rate"],
       f"full sync at >= 85% of PostgreSQL's own rate: {full['rate']:.0f} vs "
       f"{base['rate']:.0f} records/s ({full['rate'] / base['rate']:.0%})")
target(same["written"] == 0 and same["wal"] < 0.01 * full["wal"],
       f"nothing-changed re-sync writes 0 rows and < 1% of the full sync's WAL: "
       f"{same['written']} rows, {same['wal']:.2f} MiB WAL ({same['wal'] / full['wal']:.2%})")
target(full["rss"] <= 32, f"full sync peak RSS <= 32 MiB: {full['rss']:.1f} MiB")
if small is None:
    target(None, f"{small_records}-record sync's peak RSS within 10% of the full sync's: not run "
                 f"({records} records)")
else:
    target(abs(small["rss"] - full["rss"]) <= 0.1 * full["rss"],
           f"{small_records}-record sync's peak RSS within 10% of the full sync's: {small['rss']:.1f} "
           f"vs {full['rss']:.1f} MiB ({small['rss'] / full['rss'] - 1:+.0%})")
target(idle_cpu < 0.1, f"idle CPU over {idle_seconds} s < 0.1 s: {idle_cpu:.2f} s")
if changed_phase["written"] != changed:
    print(f"note: the 10% re-sync wrote {changed_phase['written']} rows for {changed} "
          f"changed records")
sys.exit(1 if missed else 0)
PY
