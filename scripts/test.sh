#!/usr/bin/env bash
# Sets up and runs every test on a Debian 12 machine: installs the packages, builds with
# warnings as errors, starts a throwaway PostgreSQL cluster on loopback, and runs ctest
# (unit, PostgreSQL integration and end-to-end tests). Database tests fail, never skip, here.
# Arguments go to ctest, e.g. scripts/test.sh -L unit, or -R Pagination.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/packages.sh install build server test
scripts/build.sh -DCHATSYNC_WERROR=ON

pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/chatsync-test-pg.XXXXXX")
cleanup() { scripts/pg-cluster.sh stop "$pg_dir" >/dev/null 2>&1 || true; rm -rf "$pg_dir"; }
trap cleanup EXIT
CHATSYNC_TEST_PG_DSN=$(scripts/pg-cluster.sh start "$pg_dir" "${CHATSYNC_TEST_PG_PORT:-55432}")
export CHATSYNC_TEST_PG_DSN CHATSYNC_REQUIRE_PG=1
echo "test: PostgreSQL ready at $CHATSYNC_TEST_PG_DSN"
ctest --test-dir "${CHATSYNC_BUILD_DIR:-build}" --output-on-failure -j "${CHATSYNC_JOBS:-$(nproc)}" "$@"
