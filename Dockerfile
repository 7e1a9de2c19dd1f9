# syntax=docker/dockerfile:1
# rigsweep worker image. Build: `docker compose build` (or `docker build -t rigsweep .`).

# Node 20 on Debian bookworm, pinned to a patch release; override with --build-arg.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# ---- build: compile TypeScript and pre-bundle the workflows --------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app

# Dependencies first, so this layer is reused while only the sources change.
# --ignore-scripts: the package's own `prepare` (= build) needs the sources, which are not
# copied yet; the dependencies' install scripts (ssh2/cpu-features native builds,
# protobufjs, @swc/core checks) are not needed to compile or bundle.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts

# `npm run build` = tsc -> dist/, then node dist/scripts/bundle-workflows.js, which writes
# the pre-built workflow bundle the worker starts from.
COPY tsconfig.json ./
COPY src ./src
COPY scripts ./scripts
COPY bin ./bin
RUN npm run build

# ---- runtime ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime

# openssh-client: not used by the worker (it speaks SSH through ssh2), but lets you debug a
# rig from inside the container with the same keys and known_hosts:
#   docker compose exec rigsweep-worker ssh <rig>
RUN apt-get update \
 && apt-get install -y --no-install-recommends openssh-client \
 && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production
# os.homedir() reads $HOME: keep ~/.ssh at /home/node/.ssh even when compose runs the
# container under another UID (RIGSWEEP_UID) that has no passwd entry.
ENV HOME=/home/node

WORKDIR /app
# Production dependencies only. --ignore-scripts skips our `prepare` (dist/ comes from the
# build stage) and the dependencies' native builds (ssh2 falls back to pure JS).
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin

# /app stays root-owned and read-only to the worker. /data is the working directory, where
# the worker and the CLI resolve relative paths; compose mounts the results dir at /data/results
# and the cluster file at /config/distributed_config.json. The two links make the CLI's
# defaults (--output-dir full_scoring_results, --config distributed_config.json) land on those
# mounts, so `rigsweep run --trials 20` inside the container behaves as on a workstation.
# `rigsweep` on PATH: `docker compose exec rigsweep-worker rigsweep run ...`.
RUN chmod 755 /app/bin/rigsweep.js \
 && ln -s /app/bin/rigsweep.js /usr/local/bin/rigsweep \
 && mkdir -p /data/results /home/node/.ssh \
 && ln -s /data/results /data/full_scoring_results \
 && ln -s /config/distributed_config.json /data/distributed_config.json \
 && chown node:node /data /data/results /home/node/.ssh \
 && chmod 700 /home/node/.ssh
USER node
WORKDIR /data

ENTRYPOINT ["node", "/app/bin/rigsweep.js"]
CMD ["worker", "--config", "/config/distributed_config.json"]
