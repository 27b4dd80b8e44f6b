# Entrance, built with the OpenSSL signer (cgo, -tags openssl), on a minimal
# non-root runtime image.
#
#   docker build -t entrance .
#   docker run --rm -p 8080:8080 -e ENTRANCE_MASTER_KEY=... -e ENTRANCE_DATABASE_URL=postgres://... \
#     entrance serve --insecure-http --listen :8080 --public-url https://login.example.com
#
# The builder and the runtime are the same Debian release (12, bookworm), so
# the binary runs against the libssl3 it was compiled for. See docs/deploy.md.

FROM golang:1.26-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Modules first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -tags openssl -ldflags="-s -w" -o /out/entrance ./cmd/entrance \
 && mkdir -p /out/data

# distroless/base: glibc, libssl3, CA certificates and tzdata, no shell.
# The :nonroot variant runs as uid/gid 65532.
FROM gcr.io/distroless/base-debian12:nonroot
COPY --from=build /out/entrance /usr/local/bin/entrance
# The data directory (embedded SQLite, development CA) when no PostgreSQL is
# configured; mount a volume here to keep it.
COPY --from=build --chown=65532:65532 /out/data /var/lib/entrance
ENV ENTRANCE_DATA=/var/lib/entrance
USER 65532:65532
EXPOSE 8443 8080
ENTRYPOINT ["/usr/local/bin/entrance"]
CMD ["serve"]
