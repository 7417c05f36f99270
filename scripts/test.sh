#!/usr/bin/env bash
# Sets up and runs every test on a Debian 12 machine: installs the packages, builds with
# warnings as errors, starts a throwaway PostgreSQL cluster on loopback, and runs ctest
# (unit, PostgreSQL integration, end-to-end and deployment tests). Database tests fail, never
# skip, here. Then, for the full suite only (no arguments): clang-tidy over the product code
# (scripts/tidy.sh; unchanged files keep their earlier verdict), the sanitizer job: the unit,
# PostgreSQL and end-to-end tests again in the ASan+UBSan build (scripts/sanitize.sh; the build
# compiles while ctest runs), and a short run of every fuzz target (scripts/fuzz.sh,
# $CHATSYNC_FUZZ_SECONDS seconds each).
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
asan_pid=""
if [ $# -eq 0 ]; then
  # The sanitizer build (every target, the fuzz targets included) compiles meanwhile, at a
  # lower priority: it takes the CPU the waiting tests leave idle, which on a fresh machine
  # is most of its cost.
  asan_log=$(mktemp "${TMPDIR:-/tmp}/chatsync-asan-build.XXXXXX")
  # In a session of its own, so that a failed run stops the compilers too.
  setsid nice -n 10 scripts/asan-build.sh >"$asan_log" 2>&1 &
  asan_pid=$!
  trap '[ -z "$asan_pid" ] || kill -- "-$asan_pid" 2>/dev/null || true; cleanup_test_pg' EXIT
fi
ctest --test-dir "${CHATSYNC_BUILD_DIR:-build}" --output-on-failure -j "$test_jobs" "$@"

if [ $# -eq 0 ]; then
  stage=$SECONDS
  scripts/tidy.sh
  echo "test: clang-tidy took $((SECONDS - stage)) s"
  stage=$SECONDS
  if ! wait "$asan_pid"; then
    asan_pid=""
    tail -n 60 "$asan_log"
    echo "test: the sanitizer build failed (log: $asan_log)" >&2
    exit 1
  fi
  asan_pid=""
  rm -f "$asan_log"
  echo "test: the sanitizer build took $((SECONDS - stage)) s more after the tests"
  stage=$SECONDS
  scripts/sanitize.sh
  echo "test: sanitizer job (build and tests) took $((SECONDS - stage)) s"
  stage=$SECONDS
  scripts/fuzz.sh "${CHATSYNC_FUZZ_SECONDS:-10}"
  echo "test: fuzzing took $((SECONDS - stage)) s"
fi
echo "test: all done in $SECONDS s"
