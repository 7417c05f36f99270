#!/usr/bin/env bash
# Soak test: chatsyncd run for MINUTES against chatsync-emulator's generic API while the data
# changes and the API and the database fail now and then, then a count of what the table
# lost. What it does, on a loop of two minutes:
#
#   data     1% of the records changed every 30 s, and the listing moving while it is read
#            (a record moved to the end every 20 listing requests)
#   API      three 429s (Retry-After: 1), three 500s and two dropped connections
#   database a PostgreSQL restart (fast shutdown, start again) once, half-way
#
# Every minute it prints the daemon's resident memory (VmRSS), open file descriptors and runs
# so far. At the end the changes and faults stop, the next complete run is awaited, and the
# table is compared with the emulator's records: lost (a record with no row), stale (a row
# whose name, score or updated_at differ from the record's), extra (a row for no record).
#
#   bench/soak.sh [MINUTES] [RECORDS]      (defaults: 30 minutes, 20000 records)
#
# Exits 1 when a row is lost, stale or extra, when the daemon exits early, or when its memory
# grew by more than 10% from the first sample taken after the first full sync to the end.
# Needs a build (scripts/build.sh; CHATSYNC_BUILD_DIR overrides build/) and PostgreSQL, curl
# and python3 (scripts/packages.sh install bench).
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-30}
records=${2:-20000}
bin=${CHATSYNC_BUILD_DIR:-build}
[[ "$minutes" =~ ^[1-9][0-9]*$ && "$records" =~ ^[1-9][0-9]*$ ]] ||
    { echo "usage: bench/soak.sh [MINUTES] [RECORDS]" >&2; exit 64; }
for tool in daemon/chatsyncd emulator/chatsync-emulator; do
    [[ -x "$bin/$tool" ]] || { echo "soak: no $bin/$tool: build first (scripts/build.sh)" >&2; exit 1; }
done

source bench/common.sh

fail() {
    echo "soak: $*" >&2
    exit 1
}
say() { echo "soak: $(date -u +%H:%M:%S) $*"; }

port=$(( 20000 + RANDOM % 20000 ))
dsn=$(scripts/pg-cluster.sh start "$work/pg" "$port")
psql() { command psql -X -q -v ON_ERROR_STOP=1 -tA "$dsn" "$@"; }

token=soak-token
"$bin/emulator/chatsync-emulator" --mode generic --records "$records" --auth bearer \
    --token "$token" --port-file "$work/emulator.port" >"$work/emulator.log" 2>&1 &
pids+=($!)
for _ in $(seq 600); do [[ -s "$work/emulator.port" ]] && break; sleep 0.1; done
[[ -s "$work/emulator.port" ]] || fail "the emulator did not start"
emu="http://127.0.0.1:$(cat "$work/emulator.port")"
admin() { curl -sf -X "$1" "$emu$2" -H 'Content-Type: application/json' ${3:+-d "$3"} >/dev/null; }

cat >"$work/soak.yaml" <<YAML
data_dir: $work/data
database: {dsn: "$dsn"}
admin: {listen: ""}
log: {level: info}
sources:
  - name: soak
    connector_file: $PWD/configs/connectors/emulator.yaml
    config: {base_url: "$emu", token: "$token"}
    retry: {max_attempts: 5, initial_backoff: 200ms, max_backoff: 2s}
    resources:
      records: {interval: 15s, jitter: 2s}
YAML
"$bin/daemon/chatsyncd" run --config "$work/soak.yaml" >"$work/daemon.log" 2>&1 &
daemon=$!
pids+=("$daemon")

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$daemon/status"; }
fds() { find "/proc/$daemon/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
runs() { psql -c "SELECT count(*) FROM chatsync.runs WHERE source = 'soak'" 2>/dev/null || echo "?"; }
alive() { kill -0 "$daemon" 2>/dev/null || { tail -n 30 "$work/daemon.log" >&2; fail "chatsyncd exited"; }; }

# The first full sync (records and each record's comments) before anything moves.
say "$records records; waiting for the first full sync"
for _ in $(seq 3600); do
    alive
    done_runs=$(psql -c "SELECT count(*) FROM chatsync.runs WHERE source = 'soak'
        AND resource = 'records' AND outcome = 'success'" 2>/dev/null || echo 0)
    (( done_runs > 0 )) && break
    sleep 1
done
(( done_runs > 0 )) || fail "no complete run within an hour"
rss_start=$(rss_kib)
fds_start=$(fds)
say "first sync done: rss ${rss_start} KiB, ${fds_start} fds; soaking for $minutes minutes"

admin POST /_admin/moving '{"every":20,"update":1,"seed":7}'
start=$SECONDS
end=$(( start + minutes * 60 ))
restarted=0
next_mutate=$SECONDS
next_faults=$SECONDS
next_report=$(( SECONDS + 60 ))
while (( SECONDS < end )); do
    alive
    if (( SECONDS >= next_mutate )); then
        admin POST /_admin/mutate '{"fraction":0.01}'
        next_mutate=$(( SECONDS + 30 ))
    fi
    if (( SECONDS >= next_faults )); then
        admin POST /_admin/faults '[{"kind":"429","count":3,"after":5,"retry_after":1},
            {"kind":"500","count":3,"after":40},{"kind":"drop","count":2,"after":80}]'
        next_faults=$(( SECONDS + 120 ))
    fi
    if (( ! restarted && SECONDS - start >= minutes * 30 )); then
        # Preferably while a run writes, so that its transaction breaks under it.
        during="between runs"
        for _ in $(seq 300); do
            if (( $(psql -c "SELECT count(*) FROM chatsync.runs WHERE outcome = 'running'") > 0 )); then
                during="during a run"
                break
            fi
            sleep 0.1
        done
        say "restarting PostgreSQL ($during)"
        scripts/pg-cluster.sh stop "$work/pg" >/dev/null
        sleep 5
        scripts/pg-cluster.sh start "$work/pg" "$port" >/dev/null
        restarted=1
    fi
    if (( SECONDS >= next_report )); then
        say "$(( (SECONDS - start) / 60 )) min: rss $(rss_kib) KiB, $(fds) fds, $(runs) runs"
        next_report=$(( SECONDS + 60 ))
    fi
    sleep 1
done

# Quiet: no more changes or faults; the next run that starts after this reads everything
# changed so far (its window starts at the cursor minus the spec's lookback).
admin DELETE /_admin/moving
admin DELETE /_admin/faults
quiet=$(psql -c "SELECT now()")
say "changes and faults stopped; waiting for a complete run"
settled=0
for _ in $(seq 600); do
    alive
    settled=$(psql -c "SELECT count(*) FROM chatsync.runs WHERE source = 'soak'
        AND resource = 'records' AND outcome = 'success' AND started_at > '$quiet'")
    (( settled > 0 )) && break
    sleep 1
done
(( settled > 0 )) || fail "no complete run within 10 minutes of the end"
rss_end=$(rss_kib)
fds_end=$(fds)
kill -TERM "$daemon"
wait "$daemon" || fail "chatsyncd exited $? on SIGTERM"

curl -sf "$emu/_admin/dataset" >"$work/dataset.json"
psql -c "SELECT coalesce(json_agg(json_build_array(id::text, name, score,
    (extract(epoch FROM updated_at) * 1000)::bigint)), '[]') FROM soak.records" >"$work/table.json"
read -r lost stale extra total <<<"$(python3 - "$work/dataset.json" "$work/table.json" <<'PY'
import json, sys
from datetime import datetime
records = {}
for r in json.load(open(sys.argv[1])):
    ms = round(datetime.fromisoformat(r["updated_at"].replace("Z", "+00:00")).timestamp() * 1000)
    records[str(r["id"])] = (r["name"], float(r["score"]), ms)
rows = {r[0]: (r[1], float(r[2]), int(r[3])) for r in json.load(open(sys.argv[2]))}
lost = sum(1 for k in records if k not in rows)
stale = sum(1 for k, v in records.items() if k in rows and rows[k] != v)
extra = sum(1 for k in rows if k not in records)
print(lost, stale, extra, len(records))
PY
)"
growth=$(awk "BEGIN { printf \"%.1f\", ($rss_end - $rss_start) * 100 / $rss_start }")
echo
printf '%-28s %s\n' "duration" "$minutes min ($(runs) runs, $(grep -c 'outcome=success' "$work/daemon.log") successful)"
printf '%-28s %s\n' "records" "$total"
printf '%-28s %s\n' "rss start / end (KiB)" "$rss_start / $rss_end ($growth%)"
printf '%-28s %s\n' "open fds start / end" "$fds_start / $fds_end"
printf '%-28s %s\n' "retries logged" "$(grep -c 'retrying\|rate limited, waiting' "$work/daemon.log" || true)"
printf '%-28s %s\n' "runs failed (then resumed)" "$(grep -c 'sync failed' "$work/daemon.log" || true)"
printf '%-28s %s\n' "PostgreSQL restarted" "${during:-not reached}"
printf '%-28s %s\n' "lost / stale / extra rows" "$lost / $stale / $extra"
(( lost == 0 && stale == 0 && extra == 0 )) || fail "rows lost, stale or extra"
awk "BEGIN { exit !($rss_end <= $rss_start * 1.10) }" || fail "memory grew by $growth%"
