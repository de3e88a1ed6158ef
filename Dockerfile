# Build stage: native modules (better-sqlite3, serialport, node-hid) compile here, never at run time.
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY stubs ./stubs
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Run stage: the built gateway and its production dependencies, as an unprivileged user. node-hid's
# prebuilt hidraw binding links libusb and libudev; udev's udevadm serves serialport's port listing.
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libusb-1.0-0 libudev1 udev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/stubs ./stubs
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
# GET /health at the address and with the token of the config (http.host, http.port, http.token), so the
# check follows the config; healthy when the bridge is online (see README "Operations").
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "/app/dist/cli.js", "health", "--config", "/config/fieldbridge.yaml"]
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["start", "--config", "/config/fieldbridge.yaml"]
