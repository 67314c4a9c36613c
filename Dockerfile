# syntax=docker/dockerfile:1
# One image recipe for every app: docker build --build-arg APP=email .
#
# Why turbo prune and not pnpm deploy: the workspace packages ship TypeScript source that Node 24
# runs by stripping types, and Node refuses to strip types under node_modules. pnpm deploy would
# copy them there; turbo prune keeps them as workspace folders (symlinked, outside node_modules).
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS base
RUN corepack enable && corepack prepare pnpm@10.34.9 --activate
WORKDIR /repo

FROM base AS prune
ARG APP
COPY . .
RUN pnpm dlx turbo@2.11.11 prune "@switchboard/${APP}" --docker

FROM base AS install
# Dependencies first (cached while only source changes), production only.
COPY --from=prune /repo/out/json/ .
RUN pnpm install --frozen-lockfile --prod --ignore-scripts
COPY --from=prune /repo/out/full/ .
# The activity log applies these at start (PostgreSQL and embedded backends).
COPY supabase/migrations ./supabase/migrations

FROM ${NODE_IMAGE} AS runtime
ARG APP
ENV APP=${APP} HOST=0.0.0.0 SWITCHBOARD_DATA_DIR=/data
WORKDIR /app
COPY --from=install --chown=node:node /repo /app
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
# Shell form so ${APP} is expanded; exec so node gets the signals for a graceful shutdown.
CMD exec node "apps/${APP}/src/server.ts"
