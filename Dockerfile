# The long-lived worker as a container image: one self-contained JavaScript bundle on Node 22.
#
#   docker build -t eks-activity-worker .
#   docker run --read-only --cap-drop ALL -e AWS_REGION=... -e EKS_WORKER_ACTIVITY_ARNS=... eks-activity-worker
#
# Build stage: dev dependencies (esbuild, tsx) exist only here; `npm run build` writes
# dist/worker.mjs with every runtime dependency inside (infra/build/build-worker.ts).
FROM node:22-alpine AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY lib/ lib/
COPY infra/build/ infra/build/
RUN npm run build

# Runtime stage: Node 22 and the bundle, nothing else. No npm install: the bundle needs no
# node_modules, so the image carries no dev (or any other) dependency tree.
FROM node:22-alpine
ENV NODE_ENV=production \
    EKS_WORKER_HTTP_PORT=8080
WORKDIR /app
# Owned by root and not writable by the process; nothing is written at run time, so the root
# filesystem can be mounted read-only (Kubernetes readOnlyRootFilesystem, docker run --read-only).
COPY --from=build /src/dist/worker.mjs /src/dist/worker.mjs.map /app/
# The official image's unprivileged `node` user, by number so Kubernetes' runAsNonRoot can check it.
USER 1000:1000
EXPOSE 8080
# Exec form: node is PID 1 and receives SIGTERM itself (no shell in between). The worker handles
# SIGTERM and SIGINT (graceful stop) and starts no child processes, so no init is needed to
# forward signals or reap zombies. A bundled dependency still loads Node's deprecated `punycode`
# built-in; its warning says nothing to an operator. The source map ships alongside: set
# NODE_OPTIONS=--enable-source-maps for TypeScript stack traces (it costs ~27 MiB RSS and 0.6 s
# at start, measured, so it is not on by default).
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "--disable-warning=DEP0040", "/app/worker.mjs"]
