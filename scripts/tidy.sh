#!/usr/bin/env bash
# Runs clang-tidy 19 with the project's .clang-tidy over the product code (lib/, daemon/,
# emulator/) with the compiler and flags of ./build (run scripts/build.sh first). Any finding
# fails the script.
#
#   scripts/tidy.sh [FILE...]     default: every translation unit under lib/, daemon/, emulator/
#   scripts/tidy.sh --record-baseline
#
# clang-tidy parses each file with all of Boost it includes, about 10-20 s of CPU a file, so a
# result is kept: a file whose preprocessed text (its headers included), compiler flags,
# .clang-tidy and clang-tidy version are unchanged since it last passed is not checked again.
# The cache lives in $CHATSYNC_TIDY_CACHE (default ~/.cache/chatsync-tidy).
#
# A fresh machine has no cache, and checking all files takes 15-20 minutes on 2 cores. So
# .clang-tidy-baseline names a commit at which every file passed (with the clang-tidy version
# that passed them), and a file none of whose sources and headers in this repository differ
# from that commit's, and that is not in the cache, is taken as passed. --record-baseline checks
# every file, ignoring the baseline, and when all pass on a committed tree writes HEAD there,
# to be committed. CHATSYNC_TIDY_BASELINE=0 ignores the baseline.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
record=false
if [ "${1:-}" = --record-baseline ]; then
  record=true
  shift
  [ $# -eq 0 ] || { echo "tidy: --record-baseline checks every file; it takes no file names" >&2; exit 64; }
  # Checked first: a baseline names a commit, so what it vouches for must be committed.
  if [ -n "$(git status --porcelain -- lib daemon emulator .clang-tidy)" ]; then
    echo "tidy: lib/, daemon/, emulator/ or .clang-tidy has uncommitted changes: commit them, then record the baseline" >&2
    exit 1
  fi
fi
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
tidy_version=$("$tidy" --version | sed -n 's/.*LLVM version \([0-9.]*\).*/\1/p')

# The files changed since the baseline commit (committed or not, untracked included), when it
# can be used: recorded, in this clone, for this clang-tidy, and .clang-tidy itself unchanged.
changed=$(mktemp)
trap 'rm -f "$changed"' EXIT
baseline=""
if ! $record && [ "${CHATSYNC_TIDY_BASELINE:-1}" != 0 ] && [ -f .clang-tidy-baseline ]; then
  read -r base_commit base_version <.clang-tidy-baseline || true
  if [ "$base_version" != "$tidy_version" ]; then
    echo "tidy: the baseline was recorded with clang-tidy $base_version, this is $tidy_version: checking every file"
  elif ! git cat-file -e "$base_commit^{commit}" 2>/dev/null; then
    echo "tidy: the baseline commit $base_commit is not in this clone: checking every file"
  else
    { git diff --name-only "$base_commit" --; git ls-files --others --exclude-standard; } | sort -u >"$changed"
    if grep -qxF .clang-tidy "$changed"; then
      echo "tidy: .clang-tidy changed since the baseline: checking every file"
    else
      baseline=$base_commit
    fi
  fi
fi
# compile_of MODE FILE: runs FILE's compile command without its output, preprocessing only.
# MODE "text": its flags, then the preprocessed text; MODE "deps": the files of this repository
# it reads (itself and its headers), relative to the root, one a line.
compile_of() {
  python3 - "$db_dir/compile_commands.json" "$1" "$2" "$root" <<'EOF'
import json, os, shlex, subprocess, sys
db, mode, file, root = sys.argv[1:5]
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
    if mode == "text":
        sys.stdout.write(" ".join(out[1:]) + "\n")
        sys.stdout.flush()
        subprocess.run(out + ["-E", "-P"], cwd=entry["directory"], check=True, stderr=subprocess.DEVNULL)
    else:
        made = subprocess.run(out + ["-M"], cwd=entry["directory"], check=True,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
        for dep in made.replace("\\\n", " ").split(":", 1)[1].split():
            path = os.path.normpath(os.path.join(entry["directory"], dep))
            if path.startswith(root + os.sep):
                print(os.path.relpath(path, root))
    break
EOF
}
key_of() {
  compile_of text "$1" | sed "s#$root#@ROOT@#g" | { cat; echo "$config_key"; } | sha256sum | cut -c1-64
}
# Whether a file and every header of this repository it includes are as at the baseline.
unchanged_since_baseline() {
  [ -n "$baseline" ] || return 1
  # Not grep -q: it would stop reading at the first match, and the writer fail on the pipe.
  ! compile_of deps "$1" | grep -xF -f "$changed" >/dev/null
}
export -f compile_of key_of unchanged_since_baseline
export db_dir root config_key tidy cache baseline changed

check_one() {
  local file=$1 key log
  key=$(key_of "$file")
  [ -f "$cache/$key" ] && { echo "cached $file"; return 0; }
  unchanged_since_baseline "$file" && { echo "baseline $file"; return 0; }
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
grep -v '^cached \|^passed \|^baseline ' <<<"$results" || true
cached=$(grep -c '^cached ' <<<"$results" || true)
passed=$(grep -c '^passed ' <<<"$results" || true)
trusted=$(grep -c '^baseline ' <<<"$results" || true)
failed=$(grep -c '^FAILED ' <<<"$results" || true)
since_baseline=""
[ -z "$baseline" ] || since_baseline=" $trusted unchanged since the baseline commit ${baseline:0:12},"
echo "tidy: $passed checked and clean, $cached unchanged since they passed,$since_baseline" \
  "$failed with findings, in $((SECONDS - start)) s"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ] || exit 1
if $record; then
  echo "$(git rev-parse HEAD) $tidy_version" >.clang-tidy-baseline
  echo "tidy: recorded $(git rev-parse --short HEAD) in .clang-tidy-baseline; commit it"
fi
