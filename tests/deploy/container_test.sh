#!/usr/bin/env bash
# Builds the Dockerfile with podman and checks the image: at most 120 MB, a non-root user, a
# HEALTHCHECK through chatsyncd itself and no curl; then runs it (host network, loopback only)
# with a mounted config syncing chatsync-emulator (run on the host) into a throwaway
# PostgreSQL, the DSN mounted as a secret file, checks that `podman healthcheck run` passes,
# and that `podman stop` (SIGTERM) ends it within the shutdown grace with exit code 0.
#
#   container_test.sh EMULATOR SOURCE_DIR
#
# CHATSYNC_DEPLOY_IMAGE=TAG checks an image built beforehand instead of building one.
#
# Needs root and the deploy package group. The first run makes the Debian base images with
# debootstrap (about a minute) and compiles chatsyncd inside the build stage (several minutes).
set -euo pipefail

[[ $# -eq 2 ]] || { echo "usage: $0 EMULATOR SOURCE_DIR" >&2; exit 2; }
emulator=$(realpath "$1")
src=$(realpath "$2")
here=$(dirname "$(realpath "$0")")
pm() { bash "$here/podman.sh" "$@"; }

tag=${CHATSYNC_DEPLOY_IMAGE:-localhost/chatsync:deploy-test}
readonly max_bytes=$((120 * 1000 * 1000))
readonly grace=20 # limits.shutdown_grace in the image's default config
name=chatsync-deploy-test-$$

work=$(mktemp -d)
chmod 755 "$work"
fail() {
    echo "FAIL: $*" >&2
    if pm container exists "$name" 2>/dev/null; then
        echo "--- container log (tail)" >&2
        pm logs "$name" 2>&1 | tail -n 30 >&2 || true
    fi
    exit 1
}
emulator_pid=""
cleanup() {
    pm rm -f -t 0 "$name" >/dev/null 2>&1 || true
    if [[ -n $emulator_pid ]]; then
        kill "$emulator_pid" 2>/dev/null || true
        wait "$emulator_pid" 2>/dev/null || true
    fi
    if [[ -d $work/pg ]]; then
        "$src/scripts/pg-cluster.sh" stop "$work/pg" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
seconds() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(seconds)" 'BEGIN { printf "%.1f", b - a }'; }

t0=$(seconds)
echo "--- base images"
pm setup || fail "podman setup"
if [[ -z ${CHATSYNC_DEPLOY_IMAGE:-} ]]; then
    echo "--- build"
    t=$(seconds)
    pm build "$src" "$tag" >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; fail "image build"; }
    echo "built in $(elapsed "$t") s"
fi

echo "--- image"
size=$(pm image inspect --format '{{.Size}}' "$tag")
echo "size: $size bytes ($((size / 1000 / 1000)) MB)"
((size <= max_bytes)) || fail "image is $size bytes, above $max_bytes"
user=$(pm image inspect --format '{{.Config.User}}' "$tag")
[[ -n $user && ${user%%:*} != 0 && ${user%%:*} != root ]] || fail "image user '$user' is root"
uid=$(pm run --rm --entrypoint id "$tag" -u) || fail "cannot run id in the image"
[[ $uid != 0 ]] || fail "the container runs as uid 0"
echo "user: $user (uid $uid)"
health=$(pm image inspect --format '{{json .Config.Healthcheck.Test}}' "$tag")
[[ $health == *chatsyncd*healthcheck* ]] || fail "HEALTHCHECK is '$health', not chatsyncd's"
echo "healthcheck: $health"
if pm run --rm --entrypoint /bin/sh "$tag" -c 'command -v curl || command -v wget'; then
    fail "the image has curl or wget"
fi
entry=$(pm image inspect --format '{{json .Config.Entrypoint}}' "$tag")
[[ $entry == '["/usr/local/bin/chatsyncd"]' ]] || fail "ENTRYPOINT is $entry, not the exec form of chatsyncd"

echo "--- run"
dsn=$("$src/scripts/pg-cluster.sh" start "$work/pg" "$(free_port)") || fail "pg-cluster.sh start"
printf '%s\n' "$dsn" >"$work/dsn"
chmod 644 "$work/dsn"
"$emulator" --listen 127.0.0.1:0 --port-file "$work/emulator.port" --records 200 \
    --auth bearer --token container-test-token >"$work/emulator.log" 2>&1 &
emulator_pid=$!
for _ in $(seq 1 100); do [[ -s $work/emulator.port ]] && break; sleep 0.2; done
[[ -s $work/emulator.port ]] || fail "the emulator did not write its port"
admin_port=$(free_port)
# A config of the documented shape: the image's database settings (the DSN from the secret
# file at its default path), the listener from the environment, one source.
cp "$src/configs/connectors/emulator.yaml" "$work/emulator.yaml"
sed '/^sources: \[\]$/d' "$src/deploy/docker/chatsync.yaml" >"$work/chatsync.yaml"
cat >>"$work/chatsync.yaml" <<YAML
sources:
  - name: demo
    connector_file: connectors/emulator.yaml
    config:
      base_url: http://127.0.0.1:$(<"$work/emulator.port")
      token: \${EMULATOR_TOKEN}
YAML
chmod 644 "$work/chatsync.yaml" "$work/emulator.yaml"
# A read-only root filesystem as in the Kubernetes manifests. Podman schedules health checks
# through systemd timers; the interval is off because the test runs them itself.
pm run -d --name "$name" --network host --read-only --health-interval disable \
    -v "$work/chatsync.yaml:/etc/chatsync/chatsync.yaml:ro" \
    -v "$work/emulator.yaml:/etc/chatsync/connectors/emulator.yaml:ro" \
    -v "$work/dsn:/run/secrets/chatsync_dsn:ro" \
    -e CHATSYNC_ADMIN_LISTEN="127.0.0.1:$admin_port" \
    -e EMULATOR_TOKEN=container-test-token \
    "$tag" >/dev/null || fail "podman run"
ok=""
for _ in $(seq 1 150); do
    pm logs "$name" 2>&1 | grep -q 'admin listener ready' && { ok=1; break; }
    [[ $(pm inspect --format '{{.State.Running}}' "$name") == true ]] || fail "the container exited"
    sleep 0.2
done
[[ -n $ok ]] || fail "chatsyncd did not report its admin listener"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$admin_port/healthz") || true
[[ $code == 200 ]] || fail "/healthz answered $code"
metrics=$(curl -fsS "http://127.0.0.1:$admin_port/metrics") || fail "/metrics failed"
grep -q '^chatsync_database_up 1' <<<"$metrics" ||
    fail "chatsync_database_up is not 1 in the container"
ok=""
for _ in $(seq 1 150); do
    metrics=$(curl -fsS "http://127.0.0.1:$admin_port/metrics") || fail "/metrics failed"
    grep -Eq '^chatsync_runs_total\{.*outcome="success".*\} [1-9]' <<<"$metrics" && { ok=1; break; }
    sleep 0.2
done
[[ -n $ok ]] || fail "no successful sync run from inside the container"
echo "/healthz 200, chatsync_database_up 1, emulator synced"

echo "--- podman healthcheck run"
if ! out=$(pm healthcheck run "$name" 2>&1); then
    echo "$out" >&2
    pm exec "$name" chatsyncd healthcheck >&2 || true
    fail "podman healthcheck run failed"
fi
status=$(pm inspect --format '{{.State.Health.Status}}' "$name")
[[ $status == healthy ]] || fail "health status is '$status' after a passing check"
echo "healthy"

echo "--- podman stop"
t=$(seconds)
pm stop -t $((grace + 10)) "$name" >/dev/null || fail "podman stop"
took=$(elapsed "$t")
exit_code=$(pm inspect --format '{{.State.ExitCode}}' "$name")
echo "stopped in $took s, exit code $exit_code"
awk -v t="$took" -v g="$grace" 'BEGIN { exit !(t < g) }' || fail "stop took $took s, not within the $grace s grace"
[[ $exit_code == 0 ]] || fail "exit code $exit_code after SIGTERM"
echo "PASS (total $(elapsed "$t0") s)"
