# syntax=docker/dockerfile:1
#
# One Dockerfile, two roles (design §6):
#   docker build --target bot    -t stembot-bot .     # chat front end: slim Node image, no GPU, no ffmpeg
#   docker build --target worker -t stembot-worker .  # GPU worker: CUDA 12 + cuDNN 9 runtime, ffmpeg
# Both run `node dist/cli/bin.js <role>` as an unprivileged user and answer /healthz on STEMBOT_HTTP_PORT.

ARG NODE_IMAGE=node:20-bookworm-slim
# onnxruntime-node >= 1.23 ships its CUDA provider for CUDA 12 and cuDNN 9: the runtime image must carry both.
ARG CUDA_IMAGE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04

# ---- node: the Node 20 toolchain, also the source of the node binary for the CUDA image ----
FROM ${NODE_IMAGE} AS node

# ---- build: compile TypeScript to dist/ ----
FROM node AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would compile before the sources are here, and the build needs no ONNX binaries.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- deps-bot / deps-worker: production node_modules, with or without the CUDA provider ----
FROM node AS deps-bot
WORKDIR /deps
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
# `prepare` compiles with tsc, a dev dependency: drop it, dist/ comes from the build stage.
RUN npm pkg delete scripts.prepare && npm ci --omit=dev --no-audit --no-fund

FROM node AS deps-worker
WORKDIR /deps
# onnxruntime-node's install step fetches libonnxruntime_providers_cuda.so (too big for npm) for CUDA 12.
ENV ONNXRUNTIME_NODE_INSTALL=cuda12
COPY package.json package-lock.json ./
RUN npm pkg delete scripts.prepare && npm ci --omit=dev --no-audit --no-fund

# ---- bot: Discord/Telegram front end ----
FROM ${NODE_IMAGE} AS bot
ENV NODE_ENV=production \
    STEMBOT_HTTP_PORT=8080
WORKDIR /opt/stembot
COPY --from=deps-bot --chown=root:root /deps/node_modules ./node_modules
COPY --from=build --chown=root:root /src/dist ./dist
COPY package.json ./
COPY models/catalog.json ./models/catalog.json
# The node image's `node` user (uid 1000); the code stays root-owned and read-only to it.
USER node
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.STEMBOT_HTTP_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/cli/bin.js", "bot"]

# ---- worker: GPU separation worker ----
# Code in /opt/stembot, data in /app: the models volume on /app/models then never hides the catalog that ships
# with the code (models/catalog.json next to dist/), which would go stale in a volume across upgrades.
FROM ${CUDA_IMAGE} AS worker
ENV NODE_ENV=production \
    STEMBOT_HTTP_PORT=8080 \
    STEMBOT_MODELS_DIR=/app/models \
    STEMBOT_CACHE_DIR=/app/cache \
    STEMBOT_WORK_DIR=/app/work \
    STEMBOT_DOWNLOADS_DIR=/app/downloads \
    STEMBOT_DEVICE=cuda
# ffmpeg decodes uploads and encodes stems; ca-certificates for HTTPS downloads of sources and models.
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg ca-certificates \
  && rm -rf /var/lib/apt/lists/*
# Node without NodeSource: the official binary from the node stage (glibc 2.28+, Ubuntu 22.04 has 2.35).
COPY --from=node /usr/local/bin/node /usr/local/bin/node
# Named volumes mounted on /app/models, /app/cache and /app/downloads start as copies of these directories: owned by stembot.
# /app/work is per-job scratch space; it may die with the container (a job in flight is redone).
RUN useradd --uid 10001 --user-group --create-home --shell /usr/sbin/nologin stembot \
  && mkdir -p /app/models /app/cache /app/work /app/downloads \
  && chown stembot:stembot /app/models /app/cache /app/work /app/downloads
WORKDIR /opt/stembot
COPY --from=deps-worker --chown=root:root /deps/node_modules ./node_modules
COPY --from=build --chown=root:root /src/dist ./dist
COPY package.json ./
COPY models/catalog.json ./models/catalog.json
USER stembot
EXPOSE 8080
VOLUME ["/app/models", "/app/cache"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.STEMBOT_HTTP_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/cli/bin.js", "worker"]
