#!/usr/bin/env bash
# Webhook intake benchmark: how many JivoChat webhooks chatsyncd acknowledges per second, and
# the acknowledgement latency at that rate, next to pgbench's rate of one-row INSERT
# transactions on the same PostgreSQL in the same run. PostgreSQL runs with its durable
# defaults (fsync on, synchronous_commit on): every acknowledgement waits for a real commit.
#
#   bench/webhooks.sh [EVENTS] [CONNECTIONS]     (defaults: 20000 events, 16 connections)
#
# Needs a build (scripts/build.sh; CHATSYNC_BUILD_DIR overrides build/) and the test packages
# (scripts/packages.sh install bench: PostgreSQL with pgbench, curl, python3).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
events=${1:-20000}
connections=${2:-16}
bin=${CHATSYNC_BUILD_DIR:-build}
[[ -x "$bin/daemon/chatsyncd" && -x "$bin/emulator/chatsync-emulator" ]] ||
    { echo "bench: build first (scripts/build.sh)" >&2; exit 1; }
command -v pgbench >/dev/null || { echo "bench: pgbench missing (package postgresql-client-15)" >&2; exit 1; }

source bench/common.sh

port=$(( 20000 + RANDOM % 20000 ))
dsn=$(PG_DURABLE=1 scripts/pg-cluster.sh start "$work/pg" "$port")
psql() { command psql -X -q -v ON_ERROR_STOP=1 -tA "$dsn" "$@"; }


json_field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

echo "bench: PostgreSQL $(psql -c 'SHOW server_version') (fsync $(psql -c 'SHOW fsync'), synchronous_commit $(psql -c 'SHOW synchronous_commit')), $(nproc) cores"

# Baseline: pgbench, one INSERT of a webhook-sized JSON body per transaction.
psql -c "CREATE TABLE bench_insert (id bigserial PRIMARY KEY, received_at timestamptz NOT NULL DEFAULT now(), body json NOT NULL)"
body=$(printf '{"event_name":"chat_accepted","widget_id":"3948","chat_id":%s,"visitor":{"name":"John Smith","email":"email@example.com","number":"2198"},"agent":{"id":"2016","name":"Thomas Anderson"},"page":{"url":"http://example.com/"},"padding":"%0900d"}' 7636 0)
printf "INSERT INTO bench_insert (body) VALUES ('%s');\n" "$body" >"$work/insert.sql"
echo "bench: pgbench, $connections clients, 15 s of one-row INSERT transactions..."
pgbench -n -f "$work/insert.sql" -c "$connections" -j 2 -T 15 "$dsn" >"$work/pgbench.txt" 2>&1
pg_tps=$(grep -oE 'tps = [0-9.]+' "$work/pgbench.txt" | head -n1 | grep -oE '[0-9.]+')
pg_lat=$(grep -oE 'latency average = [0-9.]+ ms' "$work/pgbench.txt" | grep -oE '[0-9.]+' || echo '?')

# chatsyncd with one JivoChat source, fed by the emulator at its top rate.
token=bench-0123456789abcdef-token
cat >"$work/chatsyncd.yaml" <<YAML
data_dir: $work/data
database: {dsn: "$dsn"}
admin: {listen: "127.0.0.1:0"}
webhooks: {listen: "127.0.0.1:0"}
log: {level: info}
sources:
  - name: jivo_bench
    connector: jivochat
    config: {webhook_token: $token}
YAML
"$bin/daemon/chatsyncd" -c "$work/chatsyncd.yaml" run >"$work/daemon.log" 2>&1 &
daemon_pid=$!
pids+=("$daemon_pid")
hook_port=$(port_of "$work/daemon.log" "webhook listener")
admin_port=$(port_of "$work/daemon.log" "admin listener")
"$bin/emulator/chatsync-emulator" --mode jivochat --listen 127.0.0.1:0 \
    --port-file "$work/emulator.port" >"$work/emulator.log" 2>&1 &
pids+=("$!")
for _ in $(seq 100); do [[ -s "$work/emulator.port" ]] && break; sleep 0.1; done
emu="http://127.0.0.1:$(cat "$work/emulator.port")"
url="http://127.0.0.1:$hook_port/webhooks/jivochat/jivo_bench/$token"

cpu_before=$(awk '{print $14 + $15}' "/proc/$daemon_pid/stat")
echo "bench: $events generated JivoChat events over $connections connections, as fast as acknowledged..."
job=$(curl -sf -X POST "$emu/_admin/jivochat/jobs" \
    -d "{\"url\":\"$url\",\"events\":\"generated\",\"count\":$events,\"seed\":5,\"concurrency\":$connections}" |
    json_field 'd["id"]')
while :; do
    curl -sf "$emu/_admin/jivochat/jobs/$job?deliveries=0" >"$work/job.json"
    [[ $(json_field 'd["state"]' <"$work/job.json") != running ]] && break
    sleep 0.5
done
cpu_after=$(awk '{print $14 + $15}' "/proc/$daemon_pid/stat")
ticks=$(getconf CLK_TCK)
curl -sf "http://127.0.0.1:$admin_port/metrics" >"$work/metrics.txt"
stored=$(psql -c "SELECT count(*) FROM chatsync.webhook_events WHERE source = 'jivo_bench'")
rss=$(awk '/VmHWM/ {print $2}' "/proc/$daemon_pid/status")

python3 - "$work/job.json" "$work/metrics.txt" "$pg_tps" "$pg_lat" "$stored" "$rss" \
    "$(( cpu_after - cpu_before ))" "$ticks" "$connections" <<'PY'
import json, sys
job = json.load(open(sys.argv[1]))
metrics = open(sys.argv[2]).read().splitlines()
pg_tps, pg_lat, stored, rss_kib, cpu_ticks, hz, conns = sys.argv[3:10]
def metric(name):
    return sum(float(l.split()[-1]) for l in metrics if l.startswith(name + "{") or l.startswith(name + " "))
t = job["totals"]
seconds = job["duration_ms"] / 1000.0
rate = t["acknowledged"] / seconds
lat = job["latency_ms"]
batches = metric("chatsync_webhook_batch_events_count")
print()
print(f"{'':44} {'measured':>12}")
print(f"{'pgbench one-row INSERT transactions/s':44} {float(pg_tps):12.0f}   ({conns} clients, avg latency {pg_lat} ms)")
print(f"{'chatsyncd acknowledged webhooks/s':44} {rate:12.0f}   ({rate / float(pg_tps):.2f}x pgbench)")
print(f"{'ack latency p50 / p90 / p99 / max (ms)':44} {lat['p50']:>6} / {lat['p90']} / {lat['p99']} / {lat['max']}   (at that rate, seen by the sender)")
print(f"{'events per commit (mean)':44} {t['acknowledged'] / batches if batches else 0:12.1f}   ({batches:.0f} commits)")
print(f"{'events sent / acknowledged / stored':44} {t['events']:>6} / {t['acknowledged']} / {stored}")
print(f"{'daemon CPU seconds / peak RSS (MiB)':44} {int(cpu_ticks) / int(hz):12.1f} / {int(rss_kib) / 1024:.1f}")
PY
