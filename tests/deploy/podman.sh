#!/usr/bin/env bash
# Builds and runs the project's Dockerfile on a Debian 12 machine without a Docker engine and
# without access to any image registry, only to Debian's package archive.
#
#   podman.sh setup                        check the tools, make the Debian base images
#   podman.sh build CONTEXT TAG [DOCKERFILE]
#   podman.sh ARGS...                      any other podman command, with this setup
#
# Rootful podman with its own config files (nothing under /etc is touched); its state lives in
# $CHATSYNC_PODMAN_HOME (default: $HOME/.cache/chatsync-podman), so base images made once are
# reused by later runs. The tools come from `scripts/packages.sh install deploy`.
#
# Why each setting:
#  - runc, not crun: Debian 12's crun fails on hosts with a hybrid cgroup layout.
#  - ulimits nofile/nproc set explicitly: podman's defaults can exceed the host's hard limits,
#    and raising them needs CAP_SYS_RESOURCE, which a CI container may not grant.
#  - host network: bridge networking would add firewall rules and turn on IP forwarding on the
#    test machine; every test here uses loopback and free ports instead.
#  - cgroupfs and a file events log: there may be no systemd running as PID 1.
#  - --format docker on build: the OCI image format has no HEALTHCHECK.
#  - Base images from debootstrap: `FROM debian:bookworm(-slim)` then builds with --pull=never.
set -euo pipefail

home=${CHATSYNC_PODMAN_HOME:-${HOME:-/root}/.cache/chatsync-podman}
mirror=${DEBIAN_MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
mirror=${mirror:-http://deb.debian.org/debian}

die() {
    echo "podman.sh: $*" >&2
    exit 1
}

configure() {
    mkdir -p "$home"/{storage,runroot,tmp/libpod}
    cat >"$home/containers.conf" <<EOF
[containers]
netns = "host"
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$home/tmp/libpod"
EOF
    cat >"$home/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$home/storage"
runroot = "$home/runroot"
EOF
    export CONTAINERS_CONF="$home/containers.conf" CONTAINERS_STORAGE_CONF="$home/storage.conf"
    export TMPDIR="$home/tmp"
}

check_tools() {
    [[ $(id -u) -eq 0 ]] || die "needs root (rootful podman, debootstrap)"
    local b
    for b in podman runc debootstrap; do
        command -v "$b" >/dev/null || die "$b not installed: run scripts/packages.sh install deploy"
    done
}

# Makes a Debian bookworm base image the way the official -slim image is made: minbase, then
# no docs, man pages or locales, and dpkg told to keep them out.
make_base() {
    local tag=$1 root="$home/rootfs"
    podman image exists "$tag" && return 0
    echo "podman.sh: making $tag with debootstrap from $mirror" >&2
    rm -rf "$root"
    if ! debootstrap --variant=minbase bookworm "$root" "$mirror" >"$home/debootstrap.log" 2>&1; then
        tail -n 30 "$home/debootstrap.log" >&2
        die "debootstrap failed"
    fi
    (
        cd "$root"
        rm -rf var/lib/apt/lists/* var/cache/apt/archives/*.deb var/cache/apt/*.bin
        find usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete
        find usr/share/doc -mindepth 1 -type d -empty -delete
        rm -rf usr/share/man/* usr/share/info/* usr/share/lintian
        find usr/share/locale -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
        printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
            'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' \
            'path-exclude /usr/share/lintian/*' 'path-exclude /usr/share/locale/*' \
            'path-include /usr/share/locale/locale.alias' >etc/dpkg/dpkg.cfg.d/docker
        printf '%s\n' 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };' \
            'Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";' >etc/apt/apt.conf.d/docker-clean
        rm -f etc/apt/sources.list
        cat >etc/apt/sources.list.d/debian.sources <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
        : >etc/resolv.conf
    )
    tar --numeric-owner -C "$root" -c . | podman import --change 'CMD ["bash"]' - "$tag" >/dev/null
    rm -rf "$root"
}

cmd=${1:-}
case "$cmd" in
    setup)
        check_tools
        configure
        make_base docker.io/library/debian:bookworm-slim
        # The build stage only needs apt and a shell; the -dev packages come from the archive.
        podman image exists docker.io/library/debian:bookworm ||
            podman tag docker.io/library/debian:bookworm-slim docker.io/library/debian:bookworm
        ;;
    build)
        [[ $# -ge 3 ]] || die "usage: $0 build CONTEXT TAG [DOCKERFILE]"
        check_tools
        configure
        podman build --pull=never --format docker -t "$3" -f "${4:-$2/Dockerfile}" "$2"
        ;;
    "")
        sed -n '2,10p' "$0"
        exit 2
        ;;
    *)
        configure
        podman "$@"
        ;;
esac
