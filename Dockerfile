# Confo in a container: `docker build -t confo .` then
#   docker run -p 3000:3000 -v confo-data:/data confo                       (embedded store)
#   docker run -p 3000:3000 -e CONFO_ETCD_ENDPOINTS=etcd1:2379,etcd2:2379 confo   (etcd)

FROM rust:1.95-bookworm AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The same set-up script as on a developer's machine, before the sources, so its tools are cached.
COPY scripts/ scripts/
COPY Cargo.lock ./
COPY end2end/package.json end2end/package-lock.json end2end/
RUN scripts/setup.sh
COPY . .
RUN scripts/bundle.sh

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /data confo \
 && mkdir /data && chown confo /data
COPY --from=builder /src/target/release/confo /usr/local/bin/confo
COPY --from=builder /src/target/site /srv/confo/site
ENV CONFO_LISTEN=0.0.0.0:3000 \
    CONFO_DATA_DIR=/data \
    LEPTOS_SITE_ROOT=/srv/confo/site \
    RUST_LOG=info
USER confo
WORKDIR /data
VOLUME /data
EXPOSE 3000
ENTRYPOINT ["confo"]
CMD ["serve"]
