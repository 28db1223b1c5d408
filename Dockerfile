# syntax=docker/dockerfile:1
# Build stage: compile the release binary.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY config ./config
COPY benches ./benches
RUN cargo build --release --locked --bin cnscd-bot

# Runtime stage: a small Debian image, non-root user, data on a volume.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin cnscd
WORKDIR /app
COPY --from=build /src/target/release/cnscd-bot /usr/local/bin/cnscd-bot
COPY dialogs ./dialogs
COPY config ./config
RUN mkdir -p /data && chown -R cnscd:cnscd /data /app
USER cnscd
ENV CNSCD__SERVER__BIND=0.0.0.0:8080 \
    CNSCD__STORE__PATH=/data/cnscd-bot.sled \
    CNSCD__DIALOGS__DIR=/app/dialogs
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["cnscd-bot"]
CMD ["serve"]
