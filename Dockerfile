# The helm-samza image: the coordinator of samza-job releases (`helm-samza coordinator`), usable for the other
# subcommands too. Multi-stage: build with the Rust toolchain, run on a slim Debian with only the shared
# libraries librdkafka needs (OpenSSL, zlib) and CA certificates, as an unprivileged user.
#
#   docker build -t helm-samza/helm-samza:0.1.0 .

FROM rust:1.95-slim-bookworm AS build
# librdkafka is built from source by rdkafka-sys (configure + make) and links OpenSSL and zlib.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential pkg-config libssl-dev zlib1g-dev perl python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
RUN cargo build --release --locked --bin helm-samza \
 && strip target/release/helm-samza

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 zlib1g \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/helm-samza /usr/local/bin/helm-samza
# A numeric user, so that Kubernetes can verify runAsNonRoot without a passwd lookup.
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/helm-samza"]
CMD ["coordinator", "--model", "/etc/samza/model/job-model.json", "--listen", "0.0.0.0:8080"]
