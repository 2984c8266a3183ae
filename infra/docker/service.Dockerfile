# syntax=docker/dockerfile:1.7
# One image per service, built from the repository root:
#   docker build -f infra/docker/service.Dockerfile --build-arg SERVICE=api -t rota-api .
#   (SERVICE = api | scheduler-worker | cache-invalidator; infra/compose.yaml does this for all three)
#
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build step. The
# workspace layout is kept as it is: libs are reached through pnpm's workspace symlinks, and Node
# only strips types outside node_modules — a `pnpm deploy`-style copy of the libs into
# node_modules would not run.
ARG NODE_VERSION=24

FROM node:${NODE_VERSION}-bookworm-slim AS deps
ARG SERVICE
ARG PNPM_VERSION=12.21.0
RUN test -n "$SERVICE" || (echo "build with --build-arg SERVICE=api|scheduler-worker|cache-invalidator" >&2; exit 1)
RUN npm install --global --no-fund --no-audit "pnpm@${PNPM_VERSION}"
WORKDIR /app
COPY . .
# Production dependencies of this service and of the workspace libs it uses, nothing else.
RUN --mount=type=cache,id=pnpm-store,target=/root/.local/share/pnpm/store \
    pnpm install --frozen-lockfile --prod --filter "@rota/${SERVICE}..." \
 && find libs services -name '*.test.ts' -delete && rm -rf tests bench

FROM node:${NODE_VERSION}-bookworm-slim
ARG SERVICE
ENV NODE_ENV=production SERVICE=${SERVICE}
# tini: PID 1 that forwards SIGTERM to node and reaps zombies (graceful shutdown relies on SIGTERM).
RUN apt-get update && apt-get install -y --no-install-recommends tini wget && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=deps --chown=1000:1000 /app /app
USER 1000:1000
ENTRYPOINT ["/usr/bin/tini", "--"]
# Shell form would not forward signals; the path is fixed at build time.
CMD ["sh", "-c", "exec node services/${SERVICE}/src/main.ts"]
