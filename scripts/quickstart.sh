#!/usr/bin/env bash
# The quickstart on a fresh Debian 12 machine: installs the packages, builds chatsyncd, starts
# chatsync-emulator as the API, and runs one complete sync into a private PostgreSQL cluster
# that chatsyncd starts under ./var/quickstart. Then prints `chatsyncd status` and where the
# rows are. With --daemon, keeps `chatsyncd run` going (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-once}
scripts/packages.sh install build server test
scripts/build.sh

bin=${CHATSYNC_BUILD_DIR:-build}
export CHATSYNC_DATA_DIR=${CHATSYNC_DATA_DIR:-$PWD/var/quickstart}
export CHATSYNC_EMULATOR_TOKEN=quickstart-token
mkdir -p "$CHATSYNC_DATA_DIR"
port_file=$CHATSYNC_DATA_DIR/emulator.port
rm -f "$port_file"
"$bin/emulator/chatsync-emulator" --listen 127.0.0.1:0 --port-file "$port_file" \
  --records 2000 --auth bearer --token "$CHATSYNC_EMULATOR_TOKEN" >"$CHATSYNC_DATA_DIR/emulator.log" 2>&1 &
emulator_pid=$!
trap 'kill $emulator_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$port_file" ] && break; sleep 0.1; done
[ -s "$port_file" ] || { echo "quickstart: the emulator did not start; see $CHATSYNC_DATA_DIR/emulator.log" >&2; exit 1; }
export CHATSYNC_EMULATOR_URL="http://127.0.0.1:$(cat "$port_file")"
echo "quickstart: emulator serving 2000 records at $CHATSYNC_EMULATOR_URL"

config=configs/quickstart.yaml
"$bin/daemon/chatsyncd" -c "$config" check-config
if [ "$mode" = "--daemon" ]; then
  exec "$bin/daemon/chatsyncd" -c "$config" run
fi
"$bin/daemon/chatsyncd" -c "$config" once
echo
"$bin/daemon/chatsyncd" -c "$config" status
cat <<MSG

quickstart: done. The rows are in schema "demo" (tables records and comments) of the database
"chatsync" in the cluster under $CHATSYNC_DATA_DIR/postgres. Run it again to see an
incremental sync write nothing; keep it running with: scripts/quickstart.sh --daemon
MSG
