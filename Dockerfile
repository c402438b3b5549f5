# syntax=docker/dockerfile:1
#
# One image for every OctoLLM component; the command picks which:
#
#   docker build -t octollm .
#   docker run --rm octollm config                 # every setting, its variable, its default
#   docker run --rm -p 8001:8001 octollm serve reflex
#   docker run --rm -p 8000:8000 octollm serve orchestrator
#
# Ports: orchestrator 8000, reflex 8001, planner 8002, executor 8003.
# The default user is unprivileged (uid 10001). The executor is the one
# exception: its sandbox creates user namespaces and maps each sandbox to
# its own unprivileged host uid, which needs uid 0 inside the container and
# CAP_SETUID/CAP_SETGID (see deploy/compose.yaml and docs/security.md).

ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---- build ---------------------------------------------------------------
FROM ${RUST_IMAGE} AS build
WORKDIR /src
# Manifests first, so that the dependency download is cached between builds
# that only change sources.
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p octollm \
    && install -D -m 0755 target/release/octollm /out/octollm

# ---- runtime -------------------------------------------------------------
FROM ${RUNTIME_IMAGE}
# python3 and the coreutils/grep/findutils already in the base image are the
# executor's default allowlist: the sandbox sees this image's /usr read-only.
# curl is only for the health checks.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 octollm \
    && useradd --system --uid 10001 --gid octollm --home-dir /var/lib/octollm \
       --shell /usr/sbin/nologin octollm \
    && install -d -o octollm -g octollm -m 0750 /var/lib/octollm \
    && install -d -m 0755 /run/octollm
COPY --from=build /out/octollm /usr/local/bin/octollm

# Containers listen on every interface; state (SQLite, the executor's audit
# log) lives in the volume; logs are one JSON object per line.
ENV OCTOLLM_BIND=0.0.0.0 \
    OCTOLLM_DATA_DIR=/var/lib/octollm \
    OCTOLLM_LOG_FORMAT=json

WORKDIR /var/lib/octollm
VOLUME ["/var/lib/octollm"]
USER 10001:10001
EXPOSE 8000-8004

# Liveness hint for a plain `docker run`: whichever component this container
# runs answers /health on its own port. Compose and Kubernetes use their own
# per-component probes (/health for liveness, /ready for readiness).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD for port in 8000 8001 8002 8003 8004; do curl -fsS -o /dev/null "http://127.0.0.1:${port}/health" && exit 0; done; exit 1

ENTRYPOINT ["octollm"]
CMD ["up"]
