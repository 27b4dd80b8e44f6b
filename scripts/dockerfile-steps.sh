#!/usr/bin/env bash
# Runs the Dockerfile's build stage without Docker (CI has no Docker engine
# and no registry for the base images): the committed tree only (git
# archive), the Dockerfile's own `go build` line, then the binary it makes
# started the way the image starts it (serve),
# and checked to sign with OpenSSL. Needs cgo and libssl-dev, as the
# Dockerfile's build stage installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

git archive HEAD | tar -x -C "$work/"
# The build line, exactly as the Dockerfile has it (continuations joined).
build=$(sed -n '/^RUN CGO_ENABLED=1 go build/,/[^\\]$/p' Dockerfile | sed 's/\\$//' | tr '\n' ' ' | sed 's/^RUN //; s/&&.*$//')
[ -n "$build" ] || { echo "no go build line in the Dockerfile"; exit 1; }
echo "+ $build"
(cd "$work" && eval "${build//\/out\//$work/out/}")
bin="$work/out/entrance"
[ -x "$bin" ] || { echo "the build line made no $bin"; exit 1; }

export ENTRANCE_DATA="$work/data" ENTRANCE_MASTER_KEY=$("$bin" master-key generate)
"$bin" serve --insecure-http --listen 127.0.0.1:18089 --public-url https://login.example.test 2>"$work/serve.log" &
for _ in $(seq 1 100); do
  curl -sf http://127.0.0.1:18089/readyz >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf http://127.0.0.1:18089/readyz >/dev/null || { cat "$work/serve.log"; echo "the image's binary did not become ready"; exit 1; }
grep -q 'signer="openssl' "$work/serve.log" || { cat "$work/serve.log"; echo "the image's binary does not sign with OpenSSL"; exit 1; }
echo "Dockerfile build stage: OK (binary built from git archive HEAD, ready, signing with OpenSSL)"
