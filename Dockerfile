# syntax=docker/dockerfile:1
# The kratix-temporal image: controller, worker and pipeline helper in one image (the Deployments in
# deploy/ run it, and pipeline Pods run its helper as `/usr/local/bin/node /app/pipeline-helper.mjs`).
# `npm run image` builds the same contents without Docker (src/infra/app-image.ts).
#
#   docker build -t registry.example.com/kratix-temporal:0.1.0 .
ARG NODE_IMAGE=node:20-slim

# Compile, bundle the workflow code (fast worker starts) and the pipeline helper.
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# `npm install` installs the locked versions; see README Quick start for why not `npm ci`.
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src src
COPY workflows workflows
COPY activities activities
COPY deploy deploy
# esbuild options as bundleHelper() in src/pipeline-helper/image.ts
RUN npx tsc -p tsconfig.build.json --outDir dist \
  && node dist/src/cli/main.js bundle --out dist/workflow-bundle.js \
  && npx esbuild src/pipeline-helper/main.ts --bundle --platform=node --target=node20 --format=esm \
    --minify --legal-comments=none --outfile=pipeline-helper.mjs

# Production dependencies only; the Temporal core's native module for this platform only.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund \
  && keep="$(uname -m)-unknown-linux-gnu" \
  && test -f "node_modules/@temporalio/core-bridge/releases/$keep/index.node" \
  && find node_modules/@temporalio/core-bridge/releases -mindepth 1 -maxdepth 1 ! -name "$keep" -exec rm -rf {} + \
  && rm -rf node_modules/@temporalio/core-bridge/sdk-core

FROM ${NODE_IMAGE}
# git (+ ssh) for GitStateStores; CA certificates for https remotes and Temporal Cloud.
RUN apt-get update \
  && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
  && rm -rf /var/lib/apt/lists/* \
  && groupadd -g 65532 nonroot \
  && useradd -u 65532 -g 65532 -d /home/nonroot -m -s /usr/sbin/nologin nonroot
WORKDIR /app
COPY package.json ./
COPY deploy deploy
COPY --from=deps /app/node_modules node_modules
COPY --from=build /src/dist dist
COPY --from=build /src/pipeline-helper.mjs pipeline-helper.mjs
ENV NODE_ENV=production HOME=/home/nonroot
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/node", "/app/dist/src/cli/main.js"]
