#!/usr/bin/env bash
# Attacks on chatsyncd's listeners, with the figures that show they hold: a JivoChat source on
# the webhook listener, the admin listener beside it, each attack by bench/abuse.py.
#
#   bench/abuse.sh [OPEN_FILES]      (default: 1024, systemd's default soft limit)
#
# Each attack runs against a fresh chatsyncd (under `prlimit --nofile=N:N`), so that its peak
# RSS is its own. Prints one line per attack. Needs a build (scripts/build.sh; CHATSYNC_BUILD_DIR
# overrides build/), PostgreSQL (scripts/packages.sh install test) and python3; run as root or
# with a hard open-file limit of at least 6000 (abuse.py raises its own soft limit).
set -euo pipefail
cd "$(dirname "$0")/.."
open_files=${1:-1024}
bin=${CHATSYNC_BUILD_DIR:-build}
[[ -x "$bin/daemon/chatsyncd" ]] || { echo "abuse: build first (scripts/build.sh)" >&2; exit 1; }

source bench/common.sh

port=$(( 20000 + RANDOM % 20000 ))
dsn=$(scripts/pg-cluster.sh start "$work/pg" "$port")
token=abuse-0123456789abcdef-token
daemon_pid=


# start NAME [FILES] [GRACE] [EXTRA WEBHOOK KEYS]: a fresh daemon; sets hook_port, admin_port.
start() {
    local name=$1 files=${2:-$open_files} grace=${3:-20s} extra=${4:-}
    cat >"$work/$name.yaml" <<YAML
data_dir: $work/data
database: {dsn: "$dsn"}
admin: {listen: "127.0.0.1:0"}
webhooks:
  listen: "127.0.0.1:0"
$extra
log: {level: info}
limits: {shutdown_grace: $grace}
sources:
  - name: $name
    connector: jivochat
    config: {webhook_token: $token}
YAML
    prlimit --nofile="$files:$files" "$bin/daemon/chatsyncd" -c "$work/$name.yaml" run \
        >"$work/$name.log" 2>&1 &
    daemon_pid=$!
    pids+=("$daemon_pid")
    hook_port=$(port_of "$work/$name.log" "webhook listener")
    admin_port=$(port_of "$work/$name.log" "admin listener")
    path="/webhooks/jivochat/$name/$token"
}

stop() {
    kill -TERM "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
}

peak_mib() { awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$daemon_pid/status"; }

abuse() { python3 bench/abuse.py "$@"; }

# The sum of the daemon's /metrics lines that start with $1.
metric() {
    python3 -c "import sys, urllib.request as u
text = u.urlopen('http://127.0.0.1:$admin_port/metrics').read().decode()
print(int(sum(float(l.split()[-1]) for l in text.splitlines() if l.startswith(sys.argv[1]))))" "$1"
}

report() {  # report LABEL JSON [EXTRA]
    printf '%-44s %s %s\n' "$1" "$2" "${3:-}"
}

echo "abuse: PostgreSQL on $port, $(nproc) cores, chatsyncd under prlimit --nofile=$open_files"
echo

start flood_low
report "1,100 idle connections (files $open_files)" \
    "$(abuse idle --port "$hook_port" --admin-port "$admin_port" --path "$path" --count 1100)" \
    "rss_peak_mib=$(peak_mib) idle_closed=$(metric 'chatsync_listener_connections_rejected_total{listener="webhook",reason="idle_closed"}') warnings=$(grep -c 'listener refused or closed' "$work/flood_low.log")"
stop

start flood_high 16384
report "5,000 idle connections (files 16384)" \
    "$(abuse idle --port "$hook_port" --admin-port "$admin_port" --path "$path" --count 5000)" \
    "rss_peak_mib=$(peak_mib)"
stop

start wrong
report "300 x 1 MiB bodies to a wrong token" \
    "$(abuse wrong-token --port "$hook_port" --count 300 --size 1048576)" "rss_peak_mib=$(peak_mib)"
stop

start slow
report "300 x 1 MiB slow bodies, budget 64 MiB" \
    "$(abuse slow-bodies --port "$hook_port" --path "$path" --count 300 --size 1048576 --rate 262144)" \
    "rss_peak_mib=$(peak_mib)"
stop

start slowloris
report "200 slowloris headers (1 byte / 0.5 s)" \
    "$(abuse slowloris --port "$hook_port" --count 200)" "rss_peak_mib=$(peak_mib)"
report "malformed requests" "$(abuse malformed --port "$hook_port" --path "$path")"
report "1,000 pipelined /healthz" "$(abuse pipeline --port "$admin_port" --count 1000)"
# Python is the bottleneck here (one process on the same 2 cores), not the daemon.
report "/metrics, 8 keep-alive clients, 5 s" \
    "$(abuse scrape --port "$admin_port" --seconds 5 --connections 8)"
stop

start term "$open_files" 6s
report "SIGTERM, 30 slow bodies + webhooks, grace 6 s" \
    "$(abuse slow-bodies --port "$hook_port" --path "$path" --count 30 --size 1048576 \
        --rate 20480 --fast --signal-pid "$daemon_pid" --signal-after 3)" \
    "stored=$(command psql -X -tA "$dsn" -c "SELECT count(*) FROM chatsync.webhook_events WHERE source = 'term'")"
wait "$daemon_pid" 2>/dev/null || true
