#!/usr/bin/env bash
# Configures and builds chatsync into ./build (or $CHATSYNC_BUILD_DIR), with the tests and the
# emulator. Extra arguments go to CMake's configure step, e.g. -DCHATSYNC_SANITIZE=address.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${CHATSYNC_BUILD_DIR:-build}
jobs=${CHATSYNC_JOBS:-$(nproc)}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-RelWithDebInfo}" "$@" >/dev/null
echo "build: compiling in $build_dir with $jobs jobs (the first build takes several minutes)"
cmake --build "$build_dir" -j "$jobs"
