#!/usr/bin/env bash
# Sets up and runs every test on a Debian 12 machine: installs the packages, builds with
# warnings as errors, starts a throwaway PostgreSQL cluster on loopback, and runs ctest
# (unit, PostgreSQL integration, end-to-end and deployment tests). Database tests fail, never
# skip, here. Then, for the full suite only (no arguments): clang-tidy over the product code
# (scripts/tidy.sh; unchanged files keep their earlier verdict), the sanitizer job: the unit,
# PostgreSQL and end-to-end tests again in the ASan+UBSan build (scripts/sanitize.sh), and a
# short run of every fuzz target (scripts/fuzz.sh, $CHATSYNC_FUZZ_SECONDS seconds each).
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
ctest --test-dir "${CHATSYNC_BUILD_DIR:-build}" --output-on-failure -j "$test_jobs" "$@"

if [ $# -eq 0 ]; then
  stage=$SECONDS
  scripts/tidy.sh
  echo "test: clang-tidy took $((SECONDS - stage)) s"
  stage=$SECONDS
  scripts/sanitize.sh
  echo "test: sanitizer job (build and tests) took $((SECONDS - stage)) s"
  stage=$SECONDS
  scripts/fuzz.sh "${CHATSYNC_FUZZ_SECONDS:-10}"
  echo "test: fuzzing took $((SECONDS - stage)) s"
fi
echo "test: all done in $SECONDS s"
