# syntax=docker/dockerfile:1.7
# OpenHQM: multi-stage build, non-root runtime, health check on the liveness route.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# Toolchain for the better-sqlite3 native module when no prebuilt binary matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
# The admin dashboard's sources: `npm ci` builds them (Vite) into dist/dashboard/static.
COPY dashboard ./dashboard
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    OPENHQM_SERVER__HOST=0.0.0.0 \
    OPENHQM_SERVER__PORT=8000 \
    OPENHQM_SQLITE__PATH=/data/openhqm.db \
    OPENHQM_MONITORING__LOG_FORMAT=json
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./package.json
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8000
# The check reads the main process's command line, environment and directory (pid 1, /proc),
# loads its configuration as it did (file, environment, flags) and asks
# <proxy.capture.control_prefix>/health/live on its port; only that route's 200 is healthy (a
# 202 would be a captured request, forwarded to the application). `openhqm worker` has no
# listener: it is healthy while it runs. See docs/sidecar.md ("The container health check").
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "/app/dist/cli/commands/healthcheck.js"]
# SIGTERM reaches node directly (exec form): graceful shutdown drains in-flight work.
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["start"]
