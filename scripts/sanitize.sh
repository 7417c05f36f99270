#!/usr/bin/env bash
# The sanitizer job: builds ./build-asan (scripts/asan-build.sh: Clang, ASan with leak
# detection, UBSan) and runs the unit, PostgreSQL and end-to-end tests in it. A report fails
# the job, whether a test executable or a chatsyncd or emulator that a test started made it:
# every report goes to a file, and the job fails when there is one, even for a process whose
# exit status no test looks at. Uses $CHATSYNC_TEST_PG_DSN when set (scripts/test.sh sets
# it), else starts its own PostgreSQL. Arguments go to ctest instead of the default labels.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${CHATSYNC_ASAN_BUILD_DIR:-build-asan}
# CHATSYNC_ASAN_BUILT=1: built already (scripts/test.sh), and not configured again while
# scripts/fuzz.sh runs from the same build.
[ -n "${CHATSYNC_ASAN_BUILT:-}" ] ||
  scripts/asan-build.sh chatsync_unit_tests chatsync_emulator_tests chatsync_pg_tests chatsync_e2e_tests

if [ -z "${CHATSYNC_TEST_PG_DSN:-}" ]; then
  source scripts/test-pg.bash
fi
reports=$(mktemp -d "${TMPDIR:-/tmp}/chatsync-sanitizer.XXXXXX")
supp="$PWD/tests/sanitizers"
export ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1:log_path=$reports/report"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$supp/ubsan.supp:log_path=$reports/report"

# Every unit, PostgreSQL and end-to-end test but the four that sync thousands of records
# through rate limits (together over 20 minutes of the job's CPU under ASan, for code paths
# that the other end-to-end tests already run on small datasets; see README "Testing").
slow='MesiboListing\.|Mesibo\.LoadsEveryUserGroupAndMembershipOnce|Tiledesk\.FullSyncThenOnlyWhatChanged|TiledeskNoBudget\.'
# And the one that bounds the daemon's RSS while it holds webhook bodies: ASan keeps freed
# memory in quarantine and adds shadow memory, so RSS says nothing about the code there.
slow="$slow|Listeners\.SlowBodiesStayWithinTheBodyBudget"
# And the three-replica test, minutes of 300 resources on timed intervals: its claims,
# heartbeats and shared budget run here in the replica PostgreSQL tests and in the two-replica
# Mesibo test.
slow="$slow|Replicas\.ThreeDaemonsShareTheScheduleTheBudgetAndAKilledOnesWork"
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(-L 'unit|pg|e2e' -E "$slow")
status=0
start=$SECONDS
ctest --test-dir "$build_dir" --output-on-failure -j "${CHATSYNC_TEST_JOBS:-$((2 * $(nproc)))}" \
  "${args[@]}" || status=$?
if compgen -G "$reports/report.*" >/dev/null; then
  for f in "$reports"/report.*; do
    echo "sanitize: report from process ${f##*.}:"
    cat "$f"
  done
  status=1
fi
rm -rf "$reports"
echo "sanitize: tests took $((SECONDS - start)) s; $([ $status -eq 0 ] && echo clean || echo FAILED)"
exit $status
