# syntax=docker/dockerfile:1.7
#
# One image per Asgard service, each a target of this file. Build from the repository root:
#
#   docker build -f deploy/images/services.Dockerfile --target gateway       -t asgard/gateway .
#   docker build -f deploy/images/services.Dockerfile --target job-scheduler -t asgard/job-scheduler .
#   … registry, status, inference, python-runner
#
# Each image holds only its service's production bundle (`npm run bundle`: the service's
# build, services/<name>/dist/main.js, bundled by esbuild with its dependencies and the
# files they load at run time) on Node 20, and runs as the unprivileged user 10001. No
# package manager, source tree or dev dependency reaches a runtime image.

ARG NODE_IMAGE=node:20.20-bookworm-slim

# ---- build: install the workspace from the lockfile, build and bundle every service ----
FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV COREPACK_ENABLE_DOWNLOAD_PROMPT=0
COPY . .
RUN corepack pnpm install --frozen-lockfile \
 && corepack pnpm run bundle --out /bundles

# ---- runtime bases ---------------------------------------------------------------------
FROM ${NODE_IMAGE} AS node-runtime
ENV NODE_ENV=production \
    ASGARD_DATA_DIR=/var/lib/asgard
RUN groupadd --system --gid 10001 asgard \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/asgard --create-home --shell /usr/sbin/nologin asgard
COPY deploy/images/http-probe.mjs /opt/asgard/http-probe.mjs
WORKDIR /app

# Python 3.11 (Debian bookworm's python3) and uv, for the services that build Python
# environments. uv is installed from its PyPI wheel into the virtualenv where @asgard/tools
# looks for it (ASGARD_TOOLS_DIR/uv-<version>, marked complete), so nothing is installed at
# start-up and the tools folder can stay read-only.
FROM node-runtime AS python-runtime
ARG UV_VERSION=0.13.9
ENV ASGARD_TOOLS_DIR=/opt/asgard/tools \
    ASGARD_PYTHON=/usr/bin/python3 \
    UV_CACHE_DIR=/var/lib/asgard/uv-cache
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv "/opt/asgard/tools/uv-${UV_VERSION}" \
 && "/opt/asgard/tools/uv-${UV_VERSION}/bin/pip" install --no-cache-dir "uv==${UV_VERSION}" \
 && date -u +%FT%TZ > "/opt/asgard/tools/uv-${UV_VERSION}/.asgard-complete" \
 && ln -s "/opt/asgard/tools/uv-${UV_VERSION}/bin/uv" /usr/local/bin/uv

# ---- gateway ---------------------------------------------------------------------------
FROM node-runtime AS gateway
COPY --from=build /bundles/gateway /app
ENV PORT=8000
EXPOSE 8000
USER 10001:10001
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "/opt/asgard/http-probe.mjs", "PORT", "/healthz"]
ENTRYPOINT ["node", "--enable-source-maps", "/app/main.mjs"]

# ---- job-scheduler ---------------------------------------------------------------------
FROM node-runtime AS job-scheduler
COPY --from=build /bundles/job-scheduler /app
ENV METRICS_PORT=9464
EXPOSE 9464
USER 10001:10001
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "/opt/asgard/http-probe.mjs", "METRICS_PORT", "/metrics"]
ENTRYPOINT ["node", "--enable-source-maps", "/app/main.mjs"]

# ---- registry --------------------------------------------------------------------------
FROM node-runtime AS registry
COPY --from=build /bundles/registry /app
ENV METRICS_PORT=9464
EXPOSE 9464
USER 10001:10001
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "/opt/asgard/http-probe.mjs", "METRICS_PORT", "/metrics"]
ENTRYPOINT ["node", "--enable-source-maps", "/app/main.mjs"]

# ---- status ----------------------------------------------------------------------------
FROM node-runtime AS status
COPY --from=build /bundles/status /app
ENV METRICS_PORT=9464
EXPOSE 9464
USER 10001:10001
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "/opt/asgard/http-probe.mjs", "METRICS_PORT", "/metrics"]
ENTRYPOINT ["node", "--enable-source-maps", "/app/main.mjs"]

# ---- inference (Python, uv, bubblewrap and the seccomp compiler for model workers) ----
# A model's code runs the moment it loads: each model worker runs in the same sandbox as a
# training script (see docs/security.md), so the image needs what the runner's needs, but
# never internet for its workers (no slirp4netns).
FROM python-runtime AS inference
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap python3-seccomp \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /bundles/inference /app
ENV METRICS_PORT=9464 \
    INFERENCE_SANDBOX=bwrap
EXPOSE 9464
USER 10001:10001
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "/opt/asgard/http-probe.mjs", "METRICS_PORT", "/metrics"]
ENTRYPOINT ["node", "--enable-source-maps", "/app/main.mjs"]

# ---- python-runner (Python, uv, bubblewrap, the seccomp compiler and slirp4netns) ----
# Runs unprivileged: bubblewrap then maps the script's uid inside a user namespace and
# gives it its own PID namespace (see docs/operations.md for what the container runtime
# must allow for that).
FROM python-runtime AS python-runner
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap python3-seccomp slirp4netns \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /bundles/python-runner /app
ENV METRICS_PORT=9464 \
    RUNNER_SANDBOX=bwrap
EXPOSE 9464
USER 10001:10001
HEALTHCHECK --interval=10s --timeout=3s --start-period=120s --retries=3 \
  CMD ["node", "/opt/asgard/http-probe.mjs", "METRICS_PORT", "/metrics"]
ENTRYPOINT ["node", "--enable-source-maps", "/app/main.mjs"]
