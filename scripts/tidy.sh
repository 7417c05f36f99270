#!/usr/bin/env bash
# Runs clang-tidy 19 with the project's .clang-tidy over the product code (lib/, daemon/,
# emulator/) with the compiler and flags of ./build (run scripts/build.sh first). Any finding
# fails the script.
#
#   scripts/tidy.sh [FILE...]     default: every translation unit under lib/, daemon/, emulator/
#
# clang-tidy parses each file with all of Boost it includes, about 10-20 s of CPU a file, so a
# result is kept: a file whose preprocessed text (its headers included), compiler flags,
# .clang-tidy and clang-tidy version are unchanged since it last passed is not checked again.
# The cache lives in $CHATSYNC_TIDY_CACHE (default ~/.cache/chatsync-tidy); a fresh machine
# checks every file once.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build_dir=${CHATSYNC_BUILD_DIR:-build}
jobs=${CHATSYNC_JOBS:-$(nproc)}
cache=${CHATSYNC_TIDY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chatsync-tidy}
tidy=clang-tidy-19
command -v "$tidy" >/dev/null || { echo "tidy: $tidy not found (scripts/packages.sh install test)" >&2; exit 2; }
[ -f "$build_dir/CMakeCache.txt" ] || { echo "tidy: $build_dir is not configured; run scripts/build.sh first" >&2; exit 2; }
mkdir -p "$cache"

# A unity build's compile database names its batches, not the files. clang-tidy reads the
# database of a configure-only copy of the build with CHATSYNC_UNITY_BUILD off (same compiler,
# build type and warnings), so it also shows that each file compiles on its own.
cached_value() { sed -n "s/^$1:[A-Z]*=//p" "$build_dir/CMakeCache.txt"; }
db_dir=$build_dir/tidy-db
cmake -S . -B "$db_dir" -DCHATSYNC_UNITY_BUILD=OFF \
  "-DCMAKE_CXX_COMPILER=$(cached_value CMAKE_CXX_COMPILER)" \
  "-DCMAKE_BUILD_TYPE=$(cached_value CMAKE_BUILD_TYPE)" \
  "-DCMAKE_CXX_FLAGS=$(cached_value CMAKE_CXX_FLAGS)" \
  "-DCHATSYNC_WERROR=$(cached_value CHATSYNC_WERROR)" >/dev/null

# One line per translation unit: its file, then the command that compiles it (JSON-escaped
# neither: the paths of this tree hold no spaces or quotes).
units=$(python3 - "$db_dir/compile_commands.json" "$root" "$@" <<'EOF'
import json, os, sys
db, root, wanted = sys.argv[1], sys.argv[2], [os.path.abspath(f) for f in sys.argv[3:]]
seen = set()
for entry in json.load(open(db)):
    path = os.path.normpath(os.path.join(entry["directory"], entry["file"]))
    rel = os.path.relpath(path, root)
    if wanted and path not in wanted:
        continue
    if not wanted and not rel.startswith(("lib/", "daemon/", "emulator/")):
        continue
    if path in seen:
        continue
    seen.add(path)
    print(path)
EOF
)
[ -n "$units" ] || { echo "tidy: no translation unit to check" >&2; exit 2; }

# The key of a unit: what clang-tidy's verdict depends on. The source root is replaced in the
# preprocessed text (__FILE__, line markers) so that two clones of one commit share results.
config_key=$( { "$tidy" --version; cat .clang-tidy; } | sha256sum | cut -c1-64)
key_of() {
  local file=$1
  python3 - "$db_dir/compile_commands.json" "$file" <<'EOF' | sed "s#$root#@ROOT@#g" | { cat; echo "$config_key"; } | sha256sum | cut -c1-64
import json, os, shlex, subprocess, sys
db, file = sys.argv[1], sys.argv[2]
for entry in json.load(open(db)):
    if os.path.normpath(os.path.join(entry["directory"], entry["file"])) != file:
        continue
    args = entry.get("arguments") or shlex.split(entry["command"])
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a == "-o":
            skip = True
            continue
        if a == "-c":
            continue
        out.append(a)
    sys.stdout.write(" ".join(out[1:]) + "\n")
    sys.stdout.flush()
    subprocess.run(out + ["-E", "-P"], cwd=entry["directory"], check=True, stderr=subprocess.DEVNULL)
    break
EOF
}
export -f key_of
export db_dir root config_key tidy cache

check_one() {
  local file=$1 key log
  key=$(key_of "$file")
  [ -f "$cache/$key" ] && { echo "cached $file"; return 0; }
  log=$(mktemp)
  # The flags are GCC's: clang does not know some warnings, and libstdc++ 12's stable_sort
  # uses get_temporary_buffer, which clang 19 reports as deprecated in a system header.
  if "$tidy" -p "$db_dir" --quiet --extra-arg=-Wno-unknown-warning-option \
      --extra-arg=-Wno-deprecated-declarations "$file" >"$log" 2>&1; then
    touch "$cache/$key"
    echo "passed $file"
    rm -f "$log"
  else
    echo "FAILED $file"
    grep -v '^[0-9]* warnings\? generated\|^Suppressed [0-9]* warnings\|^Use -header-filter\|^Error while processing' "$log" | sed 's/^/  /'
    rm -f "$log"
    return 1
  fi
}
export -f check_one

start=$SECONDS
count=$(wc -l <<<"$units")
echo "tidy: $count files with $jobs jobs (results cached in $cache)"
status=0
results=$(xargs -P "$jobs" -I{} bash -c 'check_one "$1"' _ {} <<<"$units") || status=$?
grep -v '^cached \|^passed ' <<<"$results" || true
cached=$(grep -c '^cached ' <<<"$results" || true)
passed=$(grep -c '^passed ' <<<"$results" || true)
failed=$(grep -c '^FAILED ' <<<"$results" || true)
echo "tidy: $passed checked and clean, $cached unchanged since they passed, $failed with findings, in $((SECONDS - start)) s"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
