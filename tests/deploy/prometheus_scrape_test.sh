#!/usr/bin/env bash
# Runs the real Prometheus server with deploy/prometheus's scrape config and rules against a
# running chatsyncd (syncing chatsync-emulator into a throwaway PostgreSQL), and checks through
# Prometheus' HTTP API that the target is up, the chatsync series arrived and the alert rules
# loaded. Everything listens on loopback, on free ports.
#
#   prometheus_scrape_test.sh CHATSYNCD EMULATOR SOURCE_DIR
set -euo pipefail

[[ $# -eq 3 ]] || { echo "usage: $0 CHATSYNCD EMULATOR SOURCE_DIR" >&2; exit 2; }
chatsyncd=$(realpath "$1")
emulator=$(realpath "$2")
src=$(realpath "$3")

fail() {
    echo "FAIL: $*" >&2
    for f in chatsyncd.log emulator.log prometheus.log; do
        [[ -s ${work:-/nonexistent}/$f ]] && { echo "--- $f (tail)" >&2; tail -n 30 "$work/$f" >&2; }
    done
    exit 1
}
for b in prometheus curl python3; do command -v "$b" >/dev/null || fail "$b not installed"; done
[[ -x $chatsyncd && -x $emulator ]] || fail "chatsyncd or emulator binary missing"

work=$(mktemp -d)
# The PostgreSQL cluster runs as the postgres user when we are root and must reach its dir.
chmod 755 "$work"
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ -d $work/pg ]]; then
        "$src/scripts/pg-cluster.sh" stop "$work/pg" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
    local limit=$1 i
    shift
    for ((i = 0; i < limit * 5; i++)); do
        "$@" && return 0
        sleep 0.2
    done
    return 1
}

echo "--- PostgreSQL"
dsn=$("$src/scripts/pg-cluster.sh" start "$work/pg" "$(free_port)") || fail "pg-cluster.sh start"
printf '%s\n' "$dsn" >"$work/dsn"

echo "--- emulator"
"$emulator" --listen 127.0.0.1:0 --port-file "$work/emulator.port" --records 200 \
    --auth bearer --token scrape-test-token >"$work/emulator.log" 2>&1 &
pids+=($!)
wait_for 20 test -s "$work/emulator.port" || fail "emulator did not write its port"
emulator_port=$(<"$work/emulator.port")

echo "--- chatsyncd"
admin_port=$(free_port)
cat >"$work/chatsync.yaml" <<YAML
data_dir: $work/data
database:
  dsn_file: $work/dsn
admin:
  listen: "127.0.0.1:$admin_port"
sources:
  - name: demo
    connector_file: $src/configs/connectors/emulator.yaml
    config:
      base_url: http://127.0.0.1:$emulator_port
      token: scrape-test-token
YAML
"$chatsyncd" -c "$work/chatsync.yaml" run >"$work/chatsyncd.log" 2>&1 &
chatsyncd_pid=$!
pids+=("$chatsyncd_pid")
wait_for 30 grep -q 'admin listener ready' "$work/chatsyncd.log" ||
    fail "chatsyncd did not report its admin listener"
kill -0 "$chatsyncd_pid" || fail "chatsyncd exited"

echo "--- prometheus"
# The shipped config with only the target and the intervals changed (1 s, so the test is
# quick); the rules are loaded from a copy beside it, as in the shipped layout.
prom="$work/prometheus"
mkdir -p "$prom"
cp -r "$src/deploy/prometheus/rules" "$prom/rules"
grep -q '"chatsync:9187"' "$src/deploy/prometheus/prometheus.yml" ||
    fail "the shipped config no longer targets chatsync:9187; update this test"
sed -e "s/\"chatsync:9187\"/\"127.0.0.1:$admin_port\"/" \
    -e 's/^\( *\)scrape_interval: .*/\1scrape_interval: 1s/' \
    -e 's/^\( *\)evaluation_interval: .*/\1evaluation_interval: 1s/' \
    -e 's/^\( *\)scrape_timeout: .*/\1scrape_timeout: 1s/' \
    "$src/deploy/prometheus/prometheus.yml" >"$prom/prometheus.yml"
prom_port=$(free_port)
prometheus --config.file="$prom/prometheus.yml" --storage.tsdb.path="$prom/data" \
    --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
pids+=($!)
api="http://127.0.0.1:$prom_port/api/v1"
wait_for 30 curl -fs -o /dev/null "http://127.0.0.1:$prom_port/-/ready" || fail "prometheus not ready"

# Prints the number of series a query returns and, for one series, its value.
query() {
    curl -fsS --get --data-urlencode "query=$1" "$api/query" | python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["status"] == "success", r
res = r["data"]["result"]
print(len(res), res[0]["value"][1] if len(res) == 1 else "")'
}
expect() {
    local q=$1 want=$2 got
    got=$(query "$q") || return 1
    [[ $got == "$want" ]]
}
positive() {
    local got
    got=$(query "$1") || return 1
    [[ $got == 1\ * ]] && awk -v v="${got#1 }" 'BEGIN { exit !(v > 0) }'
}

echo "--- checks"
wait_for 30 expect 'up{job="chatsync"}' '1 1' || fail "up{job=\"chatsync\"} is not 1: $(query 'up{job="chatsync"}')"
echo "up{job=\"chatsync\"} = 1"
expect 'chatsync_build_info{job="chatsync"}' '1 1' || fail "chatsync_build_info: $(query 'chatsync_build_info')"
echo "chatsync_build_info = 1"
wait_for 20 expect 'chatsync_database_up{job="chatsync"}' '1 1' ||
    fail "chatsync_database_up: $(query 'chatsync_database_up')"
echo "chatsync_database_up = 1"
# The emulator sync finishes in seconds; its success counter must reach Prometheus.
wait_for 60 positive 'sum(chatsync_runs_total{job="chatsync", source="demo", resource="records", outcome="success"})' ||
    fail "no successful run of demo/records in Prometheus"
positive 'sum(chatsync_rows_written_total{job="chatsync", source="demo", resource="records"})' ||
    fail "no rows written for demo/records in Prometheus"
n=$(query 'count({job="chatsync", __name__=~"chatsync_.+"})' | cut -d' ' -f2)
((n >= 10)) || fail "only $n chatsync series"
echo "chatsync series: $n, demo/records synced"
rules=$(curl -fsS "$api/rules" | python3 -c '
import json, sys
print(sum(len(g["rules"]) for g in json.load(sys.stdin)["data"]["groups"]))')
expected=$(grep -c '^ *- alert:' "$src"/deploy/prometheus/rules/*.yml | awk -F: '{s += $NF} END {print s}')
[[ $rules == "$expected" ]] || fail "prometheus loaded $rules rules, expected $expected"
echo "rules loaded: $rules"
# Nothing in this healthy setup may fire (pending is fine: it says nothing yet).
firing=$(curl -fsS "$api/alerts" | python3 -c '
import json, sys
print(" ".join(a["labels"]["alertname"] for a in json.load(sys.stdin)["data"]["alerts"] if a["state"] == "firing"))')
[[ -z $firing ]] || fail "alerts firing: $firing"
echo "PASS"
