#!/usr/bin/env bash
# Configures and builds the sanitizer build in ./build-asan (or $CHATSYNC_ASAN_BUILD_DIR):
# Clang, AddressSanitizer (leaks included) and UndefinedBehaviorSanitizer, with libFuzzer's
# coverage instrumentation so that the fuzz targets (CHATSYNC_FUZZ) link against the same
# libraries. -O1 and line tables only keep compile times down; stacks still name file and line.
# Arguments are the targets to build (default: all).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${CHATSYNC_ASAN_BUILD_DIR:-build-asan}
jobs=${CHATSYNC_JOBS:-$(nproc)}
cmake -S . -B "$build_dir" \
  -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_BUILD_TYPE=Debug \
  "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -gline-tables-only" \
  "-DCHATSYNC_SANITIZE=address;undefined" \
  -DCHATSYNC_FUZZ=ON >/dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
echo "asan-build: compiling in $build_dir with $jobs jobs${*:+ ($*)}"
cmake --build "$build_dir" -j "$jobs" "${targets[@]}"
