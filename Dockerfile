# Production-like image on Node 24 (LTS): compiled app, production dependencies only, Postgres from DATABASE_URL.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src src
COPY migrations migrations
RUN npx tsc -p tsconfig.build.json

FROM node:24-bookworm-slim
# Production needs FORGE_APP_ID (the id `forge register` printed) unless CONNECT_ONLY=true; the
# server stops at start with one sentence saying so. See .env.example for everything it reads.
ENV NODE_ENV=production PORT=3000 FORGE_APP_ID="" CONNECT_ONLY=false
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist dist
COPY migrations migrations
COPY views views
COPY public public
COPY atlassian-connect.json config.json ./
USER node
EXPOSE 3000
# Healthy while /healthz answers 200 (the server up and its database reachable).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD ["node", "dist/src/healthcheck.js"]
CMD ["node", "dist/src/server.js"]
