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
ENV NODE_ENV=production
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
CMD ["node", "dist/src/server.js"]
