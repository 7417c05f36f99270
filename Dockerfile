# chatsyncd container image.
#
#   podman build --format docker -t chatsync .   (docker build -t chatsync . works too)
#   docker run -v ./chatsync.yaml:/etc/chatsync/chatsync.yaml:ro \
#       -v ./dsn:/run/secrets/chatsync_dsn:ro -p 9187:9187 chatsync
#
# --format docker matters for podman: the OCI image format has no HEALTHCHECK.
# The daemon needs an external PostgreSQL here (the image has no server for the embedded one).
# Stop timeouts must exceed limits.shutdown_grace (20 s by default): `docker stop -t 30`,
# Compose stop_grace_period, Kubernetes terminationGracePeriodSeconds.

# ---- build: the compilers and -dev packages of scripts/packages.sh's "build" group ----------
FROM debian:bookworm AS build
COPY scripts/packages.sh /src/scripts/packages.sh
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        $(/src/scripts/packages.sh build) \
 && rm -rf /var/lib/apt/lists/*
COPY . /src
# Only the daemon: the tests need packages the build group does not have, and the emulator
# (emulator/, left out of the build context) is not part of the image. ccache keeps its
# results in a build cache mount (podman, buildah, Docker's BuildKit), so that a rebuild after
# a change compiles only the batches that changed; nothing of it lands in the image.
RUN --mount=type=cache,target=/var/cache/ccache \
    export CCACHE_DIR=/var/cache/ccache \
 && cmake -S /src -B /build -DCMAKE_BUILD_TYPE=Release -DCHATSYNC_BUILD_TESTS=OFF \
        -DCHATSYNC_BUILD_EMULATOR=OFF \
 && cmake --build /build --target chatsyncd -j "$(nproc)" \
 && strip --strip-unneeded /build/daemon/chatsyncd \
 && /build/daemon/chatsyncd --version

# ---- runtime: bookworm-slim with the "runtime" group's shared libraries only ------------------
FROM debian:bookworm-slim
COPY scripts/packages.sh /tmp/packages.sh
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        $(/tmp/packages.sh runtime) \
 && rm -rf /var/lib/apt/lists/* /tmp/packages.sh \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/chatsync --no-create-home \
        --shell /usr/sbin/nologin chatsync \
 && install -d -o chatsync -g chatsync -m 0750 /var/lib/chatsync
COPY --from=build /build/daemon/chatsyncd /usr/local/bin/chatsyncd
COPY deploy/docker/chatsync.yaml /etc/chatsync/chatsync.yaml

# Every chatsyncd command reads this config unless given -c; mount another file over it or
# point CHATSYNC_CONFIG elsewhere.
ENV CHATSYNC_CONFIG=/etc/chatsync/chatsync.yaml
# Numeric, so that Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
USER 10001:10001
WORKDIR /var/lib/chatsync
EXPOSE 9187
# The binary probes its own admin listener's /healthz: no curl or shell in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["chatsyncd", "healthcheck"]
# Exec form: chatsyncd is PID 1 and receives SIGTERM itself, and it exits 0 after letting the
# page in progress commit.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/chatsyncd"]
CMD ["run"]
