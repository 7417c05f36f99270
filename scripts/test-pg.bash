# Sourced by the test scripts: starts a throwaway PostgreSQL cluster on loopback, on the first
# free port from 55432 up (or $CHATSYNC_TEST_PG_PORT), exports CHATSYNC_TEST_PG_DSN and
# CHATSYNC_REQUIRE_PG=1 (database tests fail rather than skip), and stops it on exit.
pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/chatsync-test-pg.XXXXXX")
cleanup_test_pg() { scripts/pg-cluster.sh stop "$pg_dir" >/dev/null 2>&1 || true; rm -rf "$pg_dir"; }
trap cleanup_test_pg EXIT
port=${CHATSYNC_TEST_PG_PORT:-}
if [ -z "$port" ]; then
  port=55432
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
fi
CHATSYNC_TEST_PG_DSN=$(scripts/pg-cluster.sh start "$pg_dir" "$port")
export CHATSYNC_TEST_PG_DSN CHATSYNC_REQUIRE_PG=1
echo "test: PostgreSQL ready at $CHATSYNC_TEST_PG_DSN"
