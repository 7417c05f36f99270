#!/usr/bin/env bash
# Checks systemd/: `systemd-analyze verify` is clean on chatsync.service, its hardening rates
# 1.5 or better with `systemd-analyze security --offline=true`, and the tmpfiles snippet
# applies.
#
#   systemd_test.sh CHATSYNCD SOURCE_DIR
#
# verify needs every Exec binary to exist, so it runs on a copy of the unit (same name: the
# unit name is part of the credentials path) whose Exec lines point at the built binary.
set -euo pipefail

[[ $# -eq 2 ]] || { echo "usage: $0 CHATSYNCD SOURCE_DIR" >&2; exit 2; }
chatsyncd=$(realpath "$1")
src=$2
unit="$src/systemd/chatsync.service"
max_exposure=1.5

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

[[ -x $chatsyncd ]] || fail "no chatsyncd at $chatsyncd"
[[ -f $unit ]] || fail "no unit at $unit"
command -v systemd-analyze >/dev/null || fail "systemd-analyze not installed"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

grep -q '^ExecStart=/usr/local/bin/chatsyncd ' "$unit" || fail "ExecStart no longer runs /usr/local/bin/chatsyncd; update this test"
sed "s#/usr/local/bin/chatsyncd#$chatsyncd#g" "$unit" >"$work/chatsync.service"

# The settings the deployment relies on, beyond what verify and the score check.
for line in 'Type=notify' 'ExecStartPre=.* check-config$' 'ExecReload=' 'Restart=on-failure' \
    'DynamicUser=yes' 'StateDirectory=chatsync' 'LoadCredential=pg_dsn:' 'WatchdogSec=' \
    'NoNewPrivileges=yes' 'ProtectSystem=strict' 'PrivateTmp=yes'; do
    grep -Eq "^$line" "$unit" || fail "chatsync.service lacks $line"
done
# TimeoutStopSec must leave the daemon its shutdown grace (limits.shutdown_grace, 20 s default).
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s\{0,1\}$/\1/p' "$unit")
[[ -n $stop ]] || fail "TimeoutStopSec missing or not in plain seconds"
((stop > 20)) || fail "TimeoutStopSec=$stop is not above the 20 s shutdown grace"

echo "--- systemd-analyze verify"
# verify prints problems on stderr but exits 0 for many of them: any output is a failure.
if ! out=$(systemd-analyze verify "$work/chatsync.service" 2>&1); then
    echo "$out" >&2
    fail "systemd-analyze verify failed"
fi
[[ -z $out ]] || { echo "$out" >&2; fail "systemd-analyze verify reported problems"; }
echo "clean"

echo "--- systemd-analyze security --offline=true"
out=$(systemd-analyze security --no-pager --offline=true "$work/chatsync.service" 2>&1) ||
    { echo "$out" >&2; fail "systemd-analyze security failed"; }
score=$(sed -n 's/.*Overall exposure level for chatsync.service: \([0-9.]*\).*/\1/p' <<<"$out")
[[ -n $score ]] || { echo "$out" >&2; fail "no exposure level in systemd-analyze security output"; }
grep -v '✓' <<<"$out"
awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s <= m) }' ||
    fail "exposure $score is above $max_exposure"
echo "exposure $score <= $max_exposure"

echo "--- tmpfiles snippet"
root="$work/root"
mkdir -p "$root"
systemd-tmpfiles --create --root="$root" "$src/systemd/chatsync.tmpfiles.conf" ||
    fail "systemd-tmpfiles rejected chatsync.tmpfiles.conf"
mode=$(stat -c %a "$root/etc/chatsync/credentials")
[[ $mode == 700 ]] || fail "credentials directory has mode $mode, want 700"
echo "ok"

echo "PASS"
