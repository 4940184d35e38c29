# The helm-samza image: the coordinator of samza-job releases (`helm-samza coordinator`), usable for the other
# subcommands too. Multi-stage: build the same self-contained binary as the release archives (`--features static`:
# OpenSSL and zlib compiled in), then run it on a slim Debian with CA certificates only, as an unprivileged
# numeric user (the chart's securityContext runs as 10001).
#
#   docker build -t REGISTRY/helm-samza:0.1.0 . && docker push REGISTRY/helm-samza:0.1.0
#   helm install ... --set coordinator.image.repository=REGISTRY/helm-samza

FROM rust:1.95-slim-bookworm AS build
# librdkafka, OpenSSL and zlib are built from source by rdkafka-sys and openssl-src (configure + make, perl).
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential pkg-config perl python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The whole checkout but what .dockerignore leaves out (build trees, tools, the test corpus, .git): Cargo checks
# every target the manifest declares. Without .git, `--version` names the commit given here:
#   docker build --build-arg HELM_SAMZA_COMMIT=$(git rev-parse --short HEAD) ...
ARG HELM_SAMZA_COMMIT=unknown
COPY . .
RUN cargo build --release --locked --features static --bin helm-samza \
 && strip target/release/helm-samza

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/helm-samza /usr/local/bin/helm-samza
# A numeric user, so that Kubernetes can verify runAsNonRoot without a passwd lookup.
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/helm-samza"]
CMD ["coordinator", "--model", "/etc/samza/model/job-model.json", "--listen", "0.0.0.0:8080"]
