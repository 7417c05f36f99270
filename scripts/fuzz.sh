#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, in the sanitizer build: scripts/asan-build.sh) and runs
# each over its seed corpus for SECONDS seconds (default 10), one after the other, then prints
# per target the inputs executed and executions per second. A crash, a sanitizer report, a
# leak, a timeout (10 s for one input) or an out-of-memory fails the script; the input that
# did it is saved as $CHATSYNC_FUZZ_WORK/<target>-crash-... (or timeout-, leak-, oom-).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# CI runs scripts/fuzz.sh 10. A long run: CHATSYNC_FUZZ_RUNS=10000000 scripts/fuzz.sh 36000
# (stops each target at 10 million executions or 10 hours). New inputs the fuzzer finds go to
# $CHATSYNC_FUZZ_WORK/<target>/ (default: a temporary directory, removed afterwards unless a
# target failed); the seeds in fuzz/corpus/ are only read.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${CHATSYNC_ASAN_BUILD_DIR:-build-asan}
seconds=${1:-10}
[ $# -eq 0 ] || shift
all=(fuzz_config fuzz_connector_spec fuzz_flatten fuzz_webhook fuzz_http_response fuzz_retry_after fuzz_link_header)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
# CHATSYNC_ASAN_BUILT=1: built already (scripts/test.sh runs this beside scripts/sanitize.sh).
[ -n "${CHATSYNC_ASAN_BUILT:-}" ] || scripts/asan-build.sh "${targets[@]}"

work=${CHATSYNC_FUZZ_WORK:-}
temporary=false
if [ -z "$work" ]; then
  work=$(mktemp -d "${TMPDIR:-/tmp}/chatsync-fuzz.XXXXXX")
  temporary=true
fi
mkdir -p "$work"

# Seeds beyond fuzz/corpus/<target>: the example configs and every connector spec in the repo.
extra_seeds() {
  case "$1" in
    fuzz_config) echo configs tests/data/config ;;
    fuzz_connector_spec) echo lib/connectors/builtin configs/connectors tests/e2e/specs ;;
  esac
}

runs=()
[ -z "${CHATSYNC_FUZZ_RUNS:-}" ] || runs=(-runs="$CHATSYNC_FUZZ_RUNS")
failed=()
summary=()
for t in "${targets[@]}"; do
  mkdir -p "$work/$t"
  log="$work/$t.log"
  # shellcheck disable=SC2046
  if "$build_dir/fuzz/$t" -max_total_time="$seconds" "${runs[@]}" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$work/$t-" \
      "$work/$t" "fuzz/corpus/$t" $(extra_seeds "$t") >"$log" 2>&1; then
    outcome=ok
  else
    outcome=FAILED
    failed+=("$t")
    echo "fuzz: $t failed:"
    grep -v '^#\|^INFO:\|^stat::' "$log" | tail -60
    ls "$work/$t"-* 2>/dev/null | sed 's/^/fuzz: input saved as /' || true
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  summary+=("$(printf '%-22s %14s execs %9s exec/s  %s' "$t" "${execs:-?}" "${rate:-?}" "$outcome")")
done
printf 'fuzz: %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]}; reproduce with $build_dir/fuzz/<target> <saved input>"
  exit 1
fi
if $temporary; then
  rm -rf "$work"
fi
