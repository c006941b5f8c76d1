# Tether: multi-stage build. The build stage has the compiler toolchain better-sqlite3 needs and the
# dev dependencies (TypeScript, Vite); the runtime stage has only Node, the production
# dependencies and the compiled output, and runs as an unprivileged user.

FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends g++ make python3 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
# Scripts run later, once the sources are there (prepare builds them).
RUN npm ci --no-audit --no-fund --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY test ./test
COPY bench ./bench
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    TETHER_DATA_DIR=/var/lib/tether \
    TETHER_HOST=0.0.0.0
WORKDIR /opt/tether
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/bin ./bin
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/dist/web ./dist/web
# The `node` user (uid 1000) of the base image; the data dir is the only writable place.
RUN mkdir -p /var/lib/tether && chown node:node /var/lib/tether
USER node
VOLUME ["/var/lib/tether"]
# MQTT, HTTP (dashboard, REST, MQTT over WebSocket at /ws)
EXPOSE 1883 8080
# /readyz would take a node out of rotation when PostgreSQL or NATS blips; the container is healthy
# while the process serves HTTP. The load balancer checks /readyz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/tether.js"]
CMD ["start"]
