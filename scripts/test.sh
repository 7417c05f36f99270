#!/usr/bin/env bash
# Sets up and runs every test on a Debian 12 machine: installs the packages, builds with
# warnings as errors, starts a throwaway PostgreSQL cluster on loopback, and runs ctest
# (unit, PostgreSQL integration and end-to-end tests). Database tests fail, never skip, here.
# Arguments go to ctest, e.g. scripts/test.sh -L unit, or -R Pagination.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/packages.sh install build server test deploy
scripts/build.sh -DCHATSYNC_WERROR=ON

pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/chatsync-test-pg.XXXXXX")
cleanup() { scripts/pg-cluster.sh stop "$pg_dir" >/dev/null 2>&1 || true; rm -rf "$pg_dir"; }
trap cleanup EXIT
# The first free port from 55432 up, unless one is given.
port=${CHATSYNC_TEST_PG_PORT:-}
if [ -z "$port" ]; then
  port=55432
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
fi
CHATSYNC_TEST_PG_DSN=$(scripts/pg-cluster.sh start "$pg_dir" "$port")
export CHATSYNC_TEST_PG_DSN CHATSYNC_REQUIRE_PG=1
echo "test: PostgreSQL ready at $CHATSYNC_TEST_PG_DSN"
ctest --test-dir "${CHATSYNC_BUILD_DIR:-build}" --output-on-failure -j "${CHATSYNC_JOBS:-$(nproc)}" "$@"
