# syntax=docker/dockerfile:1
# Tollgate: the verifier and the demo site in one minimal image, with the collector assets.
#
#   docker build -t tollgate --build-arg TOLLGATE_GIT_REV=$(git rev-parse --short HEAD) .
#   docker run --rm -p 127.0.0.1:8787:8787 tollgate                       # verifier (dev site)
#   docker run --rm tollgate demo-site --help                              # the demo site
#   docker compose up                                                      # Redis + verifier + demo
#
# Stages: `node` (Node.js 22 for the asset build: Debian 12's own is 18), `build` (Rust with
# the wasm32 target, wasm-bindgen-cli at exactly the version in Cargo.lock, npm ci from
# package-lock.json, scripts/build-assets.sh, release binaries), `runtime` (Debian slim, no
# compiler, no Node, runs as an unprivileged user). See README.md, "Production".

# The toolchain development and CI use (the workspace's rust-version, its minimum, is 1.88).
ARG RUST_VERSION=1.95
ARG NODE_VERSION=22

FROM node:${NODE_VERSION}-bookworm-slim AS node

FROM rust:${RUST_VERSION}-bookworm AS build
# Node.js + npm from the official Node image (same Debian release, so the binary links).
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
RUN rustup target add wasm32-unknown-unknown
WORKDIR /src
# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly (own layer: cached
# until the lock file changes).
COPY Cargo.lock ./
RUN WBG="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)" \
 && cargo install --locked wasm-bindgen-cli --version "$WBG" \
 && wasm-bindgen --version
# The asset toolchain (esbuild, terser, binaryen's wasm-opt) from package-lock.json.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# `verifier --version` shows this revision (the build context has no .git).
ARG TOLLGATE_GIT_REV=unknown
ENV TOLLGATE_GIT_REV=${TOLLGATE_GIT_REV}
RUN scripts/build-assets.sh \
 && cargo build --release --locked -p verifier -p demo-site \
 && strip target/release/verifier target/release/demo-site

FROM debian:bookworm-slim AS runtime
# ca-certificates: the demo's https client and rediss:// use the system roots too. Not pinned:
# it must follow Debian's security updates.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin tollgate \
 && mkdir -p /etc/tollgate /var/lib/tollgate-demo \
 && chown tollgate:tollgate /var/lib/tollgate-demo
COPY --from=build /src/target/release/verifier /src/target/release/demo-site /usr/local/bin/
COPY --from=build /src/js/dist/ /usr/share/tollgate/assets/
# Both listeners on all container interfaces; publish only the public port to the outside
# (compose.yaml). The internal port carries siteverify, outcome and metrics.
ENV TOLLGATE_LISTEN=0.0.0.0:8787 \
    TOLLGATE_INTERNAL_LISTEN=0.0.0.0:8788 \
    TOLLGATE_ASSETS=/usr/share/tollgate/assets
USER 10001:10001
EXPOSE 8787 8788
STOPSIGNAL SIGTERM
ENTRYPOINT []
CMD ["verifier", "serve", "--assets", "/usr/share/tollgate/assets"]
