# syntax=docker/dockerfile:1
# hubspot-operator image: `docker build -t hubspot-operator .`
# Three stages so the final image holds only the compiled operator, its production
# dependencies and the CRDs: no TypeScript, no dev dependencies, no tests, no npm.

# Node 24, pinned by major version (security patches arrive with each rebuild).
ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: compile TypeScript to operator/dist -------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the image already has Node 24, so the `node` devDependency's installer
# (and `prepare`, which needs the sources) must not run here.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY operator/src ./operator/src
RUN npm run build

# --- deps: production dependencies only -------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev: no dev dependencies; --ignore-scripts: `prepare` would try to build.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- runtime ------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="hubspot-operator" \
      org.opencontainers.image.description="Kubernetes operator that keeps HubSpot CRM and PostgreSQL in sync" \
      org.opencontainers.image.source="https://github.com/hubspot-operator/hubspot-operator" \
      org.opencontainers.image.licenses="Apache-2.0"
# The operator never installs anything at run time: drop the package managers from the image.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /opt/yarn* /usr/local/bin/yarn /usr/local/bin/yarnpkg
ENV NODE_ENV=production
# Memory (DESIGN §7: ≤ 100 MiB idle, ≤ 192 MiB peak syncing 1M records; docs/scale.md "Memory",
# measured by `npm run bench` and `npm run bench:rss`, which start the operator with these settings):
# - a young generation of at most 2 × 2 MiB semi-spaces: V8 grows it to 2 × 16 MiB or more while
#   a sync allocates and keeps it committed when idle; a sync holds one page and the next
#   (~100-200 records), so a small one costs no throughput (same records/s and CPU per record
#   in the benchmark with 2, 4 or 16 MiB);
# - at most two malloc arenas: glibc otherwise gives each of V8's and libuv's threads its own,
#   and memory freed in them (compiler zones, GC work lists) stays resident;
# - the old generation may grow to 1.5 × what survived the last full GC (ENTRYPOINT flag; V8
#   picks up to 4 ×): the live heap of a sync is ~20 MiB, the rest of a grown old space is
#   garbage waiting for a GC. A growth factor, not a limit: the heap still grows with real
#   data (no --max-old-space-size, which would crash the operator with OOM under load).
ENV NODE_OPTIONS=--max-semi-space-size=2
ENV MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --chown=root:root package.json package-lock.json ./
COPY --chown=root:root --from=deps /app/node_modules ./node_modules
COPY --chown=root:root --from=build /src/operator/dist ./operator/dist
COPY --chown=root:root crds ./crds
COPY --chown=root:root examples ./examples
# The unprivileged `node` user of the base image, by number so that Kubernetes can verify
# runAsNonRoot. The files above belong to root and are read-only for it.
USER 1000:1000
# 8080: /metrics, /healthz, /readyz; 9443: POST /webhooks/hubspot (HubSpot deliveries).
EXPOSE 8080 9443
ENTRYPOINT ["node", "--heap-growing-percent=50", "/app/operator/dist/cli.js"]
CMD ["run"]
