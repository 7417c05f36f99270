#!/usr/bin/env bash
# The single list of Debian 12 packages chatsync needs, by purpose.
#
#   scripts/packages.sh build     compilers and -dev libraries to build chatsyncd
#   scripts/packages.sh runtime   shared libraries chatsyncd needs at run time (container image)
#   scripts/packages.sh server    the PostgreSQL server for the embedded cluster (no DSN configured)
#   scripts/packages.sh test      what the test suite needs on top of build (PostgreSQL, promtool,
#                                 Chromium, Clang for the sanitizer build and the fuzz targets,
#                                 clang-tidy)
#   scripts/packages.sh deploy    what the deployment tests need (podman to build the image)
#   scripts/packages.sh bench     what the benchmarks in bench/ need on top of build
#   scripts/packages.sh install GROUP...   apt-get install those groups (run as root)
#
# README.md, .ci/run and the Dockerfile all read this file; change packages only here.
set -euo pipefail

build_packages=(
  build-essential cmake pkg-config ccache git ca-certificates
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libpqxx-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  prometheus-cpp-dev libssl-dev
)
runtime_packages=(
  libboost-json1.81.0 libboost-url1.81.0 libpqxx-6.4 libyaml-cpp0.7
  libspdlog1.10 libfmt9 libprometheus-cpp-core1.0 libssl3 ca-certificates
)
server_packages=(
  postgresql-15 postgresql-client-15
)
test_packages=(
  libgtest-dev libgmock-dev googletest
  postgresql-15 postgresql-client-15
  prometheus procps curl
  # The status page's end-to-end test loads it in headless Chromium.
  chromium
  # The sanitizer job and the fuzz targets: Clang, its sanitizer and libFuzzer runtimes, and
  # llvm-symbolizer for the reports' stacks.
  clang libclang-rt-14-dev llvm
  # scripts/tidy.sh: clang-tidy 19 has the coroutine lifetime checks that 14 lacks.
  clang-tidy-19 python3
)
bench_packages=(
  postgresql-15 postgresql-client-15 curl python3
)
deploy_packages=(
  podman runc debootstrap containernetworking-plugins uidmap fuse-overlayfs slirp4netns
)

list() {
  case "$1" in
    build) printf '%s\n' "${build_packages[@]}" ;;
    runtime) printf '%s\n' "${runtime_packages[@]}" ;;
    server) printf '%s\n' "${server_packages[@]}" ;;
    test) printf '%s\n' "${test_packages[@]}" ;;
    deploy) printf '%s\n' "${deploy_packages[@]}" ;;
    bench) printf '%s\n' "${bench_packages[@]}" ;;
    *) echo "unknown package group: $1 (build, runtime, server, test, deploy, bench)" >&2; return 2 ;;
  esac
}

case "${1:-}" in
  build|runtime|server|test|deploy|bench) list "$1" ;;
  install)
    shift
    [ $# -gt 0 ] || { echo "usage: $0 install GROUP..." >&2; exit 2; }
    pkgs=()
    for g in "$@"; do mapfile -t -O "${#pkgs[@]}" pkgs < <(list "$g"); done
    missing=()
    for p in "${pkgs[@]}"; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -eq 0 ]; then
      echo "packages: all ${#pkgs[@]} already installed"
      exit 0
    fi
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "packages: installing ${#missing[@]}: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    ;;
  *) sed -n '2,11p' "$0"; exit 2 ;;
esac
