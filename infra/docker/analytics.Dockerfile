# syntax=docker/dockerfile:1
# Analytics service image: one image for the three roles (ANALYTICS_ROLE=worker|api|all; compose and
# Kubernetes run `api` and `worker` separately). Build from the repository root (the context); the context
# is filtered by analytics.Dockerfile.dockerignore next to this file:
#   docker build -f infra/docker/analytics.Dockerfile -t africhain/analytics:local .
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build step: the image holds
# the service's src/, the workspace packages it imports (linked by pnpm under node_modules) and their
# production dependencies. `pnpm deploy` is not used: it copies workspace packages into node_modules, and
# Node refuses to strip types there.

ARG NODE_IMAGE=node:24-slim

# ---- deps: production dependencies of the analytics service and its workspace packages ----
FROM ${NODE_IMAGE} AS deps
ENV CI=true
# The version in package.json "packageManager" (pnpm would otherwise switch to that one at run time).
RUN npm install -g pnpm@10.34.9 && npm cache clean --force
WORKDIR /app
# The lockfile alone decides what is downloaded: this layer stays cached until it changes.
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN pnpm fetch --prod --store-dir /pnpm/store
COPY package.json ./
COPY services/ services/
COPY packages/ packages/
RUN pnpm install --offline --frozen-lockfile --prod --store-dir /pnpm/store \
      --filter '@africhain/analytics...'

# ---- console: the security console's static build, served by the API role at /console ----
FROM ${NODE_IMAGE} AS console
ENV CI=true
RUN npm install -g pnpm@10.34.9 && npm cache clean --force
WORKDIR /app
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN pnpm fetch --store-dir /pnpm/store
COPY package.json ./
COPY services/ services/
COPY packages/ packages/
RUN pnpm install --offline --frozen-lockfile --store-dir /pnpm/store --filter '@africhain/console' \
 && node packages/console/scripts/build.ts

# ---- runtime: only what runs, owned by root and read-only to the service's user ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    ANALYTICS_PORT=3002
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY --from=deps /app/packages/bus packages/bus
COPY --from=deps /app/packages/config packages/config
COPY --from=deps /app/packages/db packages/db
COPY --from=deps /app/packages/events packages/events
COPY --from=deps /app/packages/http packages/http
COPY --from=deps /app/packages/verifier packages/verifier
COPY --from=deps /app/services/analytics services/analytics
COPY --from=console /app/packages/console/dist packages/console/dist
COPY infra/docker/healthcheck.ts infra/docker/healthcheck.ts
# `node` (uid 1000) from the base image, given by number so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
# The API role's port. A worker-only process listens only when WORKER_METRICS_PORT is set (health, metrics).
EXPOSE 3002
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "infra/docker/healthcheck.ts", "analytics"]
# node is PID 1 here; the service handles SIGTERM itself (drains, then exits within 20 s).
CMD ["node", "services/analytics/src/server.ts"]
