# hasura-auth container image: a drop-in for nhost/hasura-auth (port 4000, same env vars).
#
#   docker build -t hasura-auth .
#   docker run -p 4000:4000 -e POSTGRES_CONNECTION=postgres://… \
#     -e HASURA_GRAPHQL_JWT_SECRET='{"type":"HS256","key":"…"}' hasura-auth
#
# Builder and runtime share Debian 12 (bookworm), so the glibc the binary links against
# is the one it runs with.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-slim-bookworm AS builder
WORKDIR /src
# The same profile for the dependency layer and the final build (else deps rebuild).
ENV CARGO_PROFILE_RELEASE_STRIP=symbols

# 1. Dependencies only: this layer is rebuilt when Cargo.toml or Cargo.lock change, not
#    when the sources do. Stub targets stand in for the real ones (the bench crate is a
#    workspace member, so its manifest must be present).
COPY Cargo.toml Cargo.lock ./
COPY bench/Cargo.toml bench/Cargo.toml
RUN mkdir -p src bench/src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && echo 'fn main() {}' > bench/src/main.rs \
    && cargo build --release --locked -p hasura-auth \
    && rm -rf src bench/src

# 2. The service itself. Built-in email and page templates and migrations are compiled in.
COPY src src
COPY email-templates email-templates
COPY page-templates page-templates
COPY bench/src bench/src
# Newer than the stub build's outputs, whatever the mtimes in the build context.
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked -p hasura-auth \
    && cp target/release/hasura-auth /usr/local/bin/hasura-auth

FROM debian:bookworm-slim
# CA certificates: SMTP over TLS and HTTPS calls (OAuth providers, SMS, Hasura).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 hasura-auth \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin hasura-auth
COPY --from=builder /usr/local/bin/hasura-auth /usr/local/bin/hasura-auth
# Custom email templates, if any, are mounted at /app/email-templates (upstream's path,
# AUTH_EMAIL_TEMPLATES_PATH); without them the built-in templates are used.
WORKDIR /app
# A container is reached through its network interface: listen on every one, even in
# development mode (which alone would pick loopback). Upstream's default anyway.
ENV AUTH_HOST=0.0.0.0
USER 10001:10001
EXPOSE 4000
# `hasura-auth healthcheck` GETs /healthz on AUTH_PORT (with AUTH_API_PREFIX) and exits 0
# on a success answer: no extra tool needed in the image.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/hasura-auth", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/hasura-auth"]
CMD ["serve"]
