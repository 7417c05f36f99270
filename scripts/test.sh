#!/usr/bin/env bash
# Sets up and runs every test on a Debian 12 machine: installs the packages, builds with
# warnings as errors, starts a throwaway PostgreSQL cluster on loopback, and runs ctest
# (unit, PostgreSQL integration, end-to-end and deployment tests). Database tests fail, never
# skip, here. Then, for the full suite only (no arguments): the sanitizer job: the unit,
# PostgreSQL and end-to-end tests again in the ASan+UBSan build (scripts/sanitize.sh; the build
# compiles while ctest runs), and beside it a short run of every fuzz target (scripts/fuzz.sh,
# $CHATSYNC_FUZZ_SECONDS seconds each) and clang-tidy over the product code (scripts/tidy.sh;
# unchanged files keep their earlier verdict).
# Arguments go to ctest, e.g. scripts/test.sh -L unit, or -R Pagination.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/packages.sh install build server test deploy
scripts/build.sh -DCHATSYNC_WERROR=ON

source scripts/test-pg.bash
# Most end-to-end tests wait on timers, daemons and the emulator rather than compute, so ctest
# runs twice as many tests at once as there are cores ($CHATSYNC_TEST_JOBS), the longest ones
# first (tests/test_costs.cmake).
test_jobs=${CHATSYNC_TEST_JOBS:-$((2 * $(nproc)))}
# The full run overlaps its stages where one leaves CPU idle. Background jobs run in a session
# of their own (setsid), so that a failed run stops them, compilers included.
background=()
trap 'for pid in "${background[@]}"; do kill -- "-$pid" 2>/dev/null || true; done; cleanup_test_pg' EXIT
# Waits for background job $1, whose output is in file $2, and fails as it did. Prints the
# output, or only its last $3 lines.
finish() {
  local status=0 pid rest=()
  wait "$1" || status=$?
  for pid in "${background[@]}"; do [ "$pid" = "$1" ] || rest+=("$pid"); done
  background=("${rest[@]}")
  if [ -n "${3:-}" ]; then tail -n "$3" "$2"; else cat "$2"; fi
  rm -f "$2"
  return "$status"
}
if [ $# -eq 0 ]; then
  # The sanitizer build (every target, the fuzz targets included) compiles meanwhile, at a
  # lower priority: it takes the CPU the waiting tests leave idle, which on a fresh machine
  # is most of its cost.
  asan_log=$(mktemp "${TMPDIR:-/tmp}/chatsync-asan-build.XXXXXX")
  setsid nice -n 10 scripts/asan-build.sh >"$asan_log" 2>&1 &
  asan_pid=$!
  background+=("$asan_pid")
fi
ctest --test-dir "${CHATSYNC_BUILD_DIR:-build}" --output-on-failure -j "$test_jobs" "$@"

if [ $# -eq 0 ]; then
  stage=$SECONDS
  finish "$asan_pid" "$asan_log" 40 || { echo "test: the sanitizer build failed" >&2; exit 1; }
  echo "test: the sanitizer build took $((SECONDS - stage)) s more after the tests"
  export CHATSYNC_ASAN_BUILT=1
  # The sanitized tests mostly wait, so the fuzz targets (one core's work) and clang-tidy (at
  # a lower priority) run beside them. Each prints its output once done.
  stage=$SECONDS
  tidy_log=$(mktemp "${TMPDIR:-/tmp}/chatsync-tidy.XXXXXX")
  setsid nice -n 10 scripts/tidy.sh >"$tidy_log" 2>&1 &
  tidy_pid=$!
  background+=("$tidy_pid")
  fuzz_log=$(mktemp "${TMPDIR:-/tmp}/chatsync-fuzz.XXXXXX")
  setsid scripts/fuzz.sh "${CHATSYNC_FUZZ_SECONDS:-10}" >"$fuzz_log" 2>&1 &
  fuzz_pid=$!
  background+=("$fuzz_pid")
  scripts/sanitize.sh
  echo "test: sanitizer tests took $((SECONDS - stage)) s"
  finish "$fuzz_pid" "$fuzz_log" || { echo "test: fuzzing failed" >&2; exit 1; }
  echo "test: sanitizer tests and fuzzing took $((SECONDS - stage)) s"
  finish "$tidy_pid" "$tidy_log" || { echo "test: clang-tidy failed" >&2; exit 1; }
  echo "test: sanitizer tests, fuzzing and clang-tidy took $((SECONDS - stage)) s"
fi
echo "test: all done in $SECONDS s"
