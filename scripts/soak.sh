#!/usr/bin/env bash
# A soak run: `entrance serve` (embedded SQLite) under a steady client
# credentials load at a fixed rate for a fixed time, sampling the server's
# resident memory every 30 s. Usage: scripts/soak.sh [rate/s, default 400] [duration, default 10m]
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-400}
dur=${2:-10m}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/entrance" ./cmd/entrance
export ENTRANCE_DATA="$work/data" ENTRANCE_MASTER_KEY=$("$work/entrance" master-key generate)
tenant=8eaef023-2b34-4da1-9baa-8bc8c9d6a490 api=2d4d11a2-f814-46a7-890a-274a72a7309e job=0b9a8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d
secret=soak-secret-0123456789abcdefghijklmnopq
cat > "$work/directory.yaml" <<YAML
tenants:
  - id: $tenant
    displayName: Contoso
    domains: [contoso.onmicrosoft.com]
    applications:
      - appId: $api
        displayName: Tasks API
        identifierUris: [api://tasks]
        appRoles: [{id: 5b7e1c2d-3f4a-4b5c-9d6e-7f8091a2b3c4, value: Tasks.Read.All, allowedMemberTypes: [Application], displayName: Read all tasks}]
      - appId: $job
        displayName: Nightly job
        passwordCredentials: [{displayName: soak, secretText: "$secret"}]
    appRoleAssignments:
      - {principal: $job, resource: $api, appRole: Tasks.Read.All}
YAML
"$work/entrance" apply -f "$work/directory.yaml" >/dev/null
"$work/entrance" serve --listen 127.0.0.1:18444 --public-url https://localhost:18444 --log-level warn \
  --rate-limit-per-ip 0 --rate-limit-per-client 0 2>"$work/serve.log" &
pid=$!
for _ in $(seq 1 100); do
  curl -sf --cacert "$ENTRANCE_DATA/tls/ca.pem" https://localhost:18444/readyz >/dev/null 2>&1 && break
  sleep 0.1
done

echo "# soak $(date -u +%Y-%m-%dT%H:%MZ): client credentials at $rate/s for $dur; RSS of the server every 30 s (MiB)"
( while kill -0 $pid 2>/dev/null; do
    echo "$(date -u +%T) RSS $(awk '/VmRSS/ {printf "%.1f", $2/1024}' /proc/$pid/status) MiB"; sleep 30
  done ) &
"$work/entrance" bench client-credentials --url https://localhost:18444 --cacert "$ENTRANCE_DATA/tls/ca.pem" \
  --tenant $tenant --client-id $job --client-secret $secret --scope api://tasks/.default \
  -c 32 --rate "$rate" -d "$dur" --ceilings=false
awk '/VmRSS/ {printf "end RSS %.1f MiB\n", $2/1024}' /proc/$pid/status
echo "server error log lines: $(grep -ci 'level=error' "$work/serve.log" || true)"
