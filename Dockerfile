# syntax=docker/dockerfile:1
# One image recipe for every service, parameterised by SERVICE (auth | booking | location | payment | gateway):
#   docker build --build-arg SERVICE=booking -t carwash/booking .
# and one for the migrations of every feature (the feature is the command: `… carwash/migrate booking`):
#   docker build --target migrate -t carwash/migrate .
# Multi-stage: the whole workspace is installed and compiled once (`pnpm build`), then `pnpm deploy --prod`
# copies one package with only its production dependencies (workspace packages included, as compiled
# dist/) into a slim Node image that runs as the unprivileged `node` user. No secret is baked in: every
# setting comes from the environment at run time (.env.example, deploy/k8s).

ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS workspace
ENV CI=true CHECKPOINT_DISABLE=1 PRISMA_HIDE_UPDATE_MESSAGE=1
# The pnpm the repository pins (package.json "packageManager").
RUN npm install -g pnpm@12.4.2 && pnpm --version
WORKDIR /repo
# Dependencies first, from the lock file alone, so this layer is reused until the lock file changes.
COPY pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
# The patches the lock file names (pnpm-workspace.yaml patchedDependencies), applied when installing.
COPY patches ./patches
RUN pnpm fetch
COPY . .
# Installing runs `pnpm db:generate` (postinstall): every feature's Prisma client, offline.
RUN pnpm install --frozen-lockfile --offline && pnpm build

FROM workspace AS service-bundle
ARG SERVICE
RUN case "${SERVICE}" in auth|booking|location|payment|gateway) ;; \
      *) echo "build-arg SERVICE must be one of auth, booking, location, payment, gateway (got '${SERVICE}')"; exit 1 ;; esac \
 && pnpm --filter "@carwash/${SERVICE}" deploy --prod --offline /out

FROM workspace AS migrate-bundle
RUN pnpm --filter @carwash/prisma deploy --prod --offline /out

# Migrations: prisma/cli.ts (`deploy <feature>`: create the database if missing, `prisma migrate deploy`)
# on Prisma's bundled WebAssembly schema engine. A one-shot tool, not a service: it runs its TypeScript
# through tsx, a production dependency of the prisma package.
FROM ${NODE_IMAGE} AS migrate
ENV NODE_ENV=production CHECKPOINT_DISABLE=1 PRISMA_HIDE_UPDATE_MESSAGE=1
WORKDIR /app/prisma
COPY --from=migrate-bundle /out ./
USER node
ENTRYPOINT ["node", "--import", "tsx", "cli.ts", "deploy"]

# A service: compiled JavaScript on Node alone. The export condition makes `@carwash/*` resolve to dist/.
# The package sits at /app/<service> beside /app/schema, as in the repository, so the gateway finds
# schema/supergraph.graphql at its default path (SUPERGRAPH_PATH overrides it). The files stay root's:
# the node user reads its code and cannot change it.
FROM ${NODE_IMAGE} AS service
ARG SERVICE
ENV NODE_ENV=production APOLLO_TELEMETRY_DISABLED=1
WORKDIR /app/${SERVICE}
COPY --from=workspace /repo/schema /app/schema
COPY --from=service-bundle /out ./
USER node
# The service listens on its <SERVICE>_PORT: gateway 4000, auth 4001, booking 4002, payment 4003, location 4004.
EXPOSE 4000 4001 4002 4003 4004
CMD ["node", "--conditions=@carwash/dist", "dist/main.js"]
