#!/usr/bin/env bash
# Runs the benchmarks recorded in docs/benchmarks.md against a fresh
# `entrance serve` on loopback, with the crypto ceilings measured in the same
# run. Usage: scripts/bench.sh [duration per scenario, default 10s]
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-10s}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/entrance" ./cmd/entrance
export ENTRANCE_DATA="$work/data" ENTRANCE_MASTER_KEY=$("$work/entrance" master-key generate)
tenant=8eaef023-2b34-4da1-9baa-8bc8c9d6a490
web=6e74172b-be56-4843-9ff4-e66a39bb12e3 api=2d4d11a2-f814-46a7-890a-274a72a7309e job=0b9a8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d
secret=bench-secret-0123456789abcdefghijklmnop password=Correct-Horse-9
cat > "$work/directory.yaml" <<YAML
tenants:
  - id: $tenant
    displayName: Contoso
    type: aad
    domains: [contoso.onmicrosoft.com]
    users:
      - {userPrincipalName: abeli@contoso.onmicrosoft.com, displayName: Abe Lincoln, password: "$password"}
    applications:
      - appId: $web
        displayName: Web app
        web: {redirectUris: [http://localhost:3000/callback]}
        passwordCredentials: [{displayName: bench, secretText: "$secret"}]
      - appId: $api
        displayName: Tasks API
        identifierUris: [api://tasks]
        api:
          requestedAccessTokenVersion: 2
          oauth2PermissionScopes: [{id: 9c3f5a7e-1b2d-4e6f-8a9b-0c1d2e3f4a5b, value: access_as_user, type: User, adminConsentDisplayName: Access Tasks}]
        appRoles: [{id: 5b7e1c2d-3f4a-4b5c-9d6e-7f8091a2b3c4, value: Tasks.Read.All, allowedMemberTypes: [Application], displayName: Read all tasks}]
      - appId: $job
        displayName: Nightly job
        passwordCredentials: [{displayName: bench, secretText: "$secret"}]
    appRoleAssignments:
      - {principal: $job, resource: $api, appRole: Tasks.Read.All}
    oauth2PermissionGrants:
      - {client: $web, resource: 00000003-0000-0000-c000-000000000000, scope: "openid profile email offline_access User.Read", consentType: AllPrincipals}
      - {client: $web, resource: $api, scope: access_as_user, consentType: AllPrincipals}
YAML
"$work/entrance" apply -f "$work/directory.yaml" >/dev/null
"$work/entrance" serve --listen 127.0.0.1:18443 --public-url https://localhost:18443 --log-level warn \
  --rate-limit-per-ip 0 --rate-limit-per-client 0 2>"$work/serve.log" &
for _ in $(seq 1 100); do
  curl -sf --cacert "$ENTRANCE_DATA/tls/ca.pem" https://localhost:18443/readyz >/dev/null 2>&1 && break
  sleep 0.1
done

echo "# $(date -u +%Y-%m-%dT%H:%MZ)  $(nproc) cores  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)  $(go version | cut -d' ' -f3)"
b() { "$work/entrance" bench "$@" --url https://localhost:18443 --cacert "$ENTRANCE_DATA/tls/ca.pem" -d "$dur"; }
b discovery --tenant $tenant --ceilings=false
b discovery --tenant contoso.onmicrosoft.com --ceilings=false
b jwks --tenant $tenant --ceilings=false
b discovery-v1 --tenant $tenant --ceilings=false
# Tokens: each run prints the ceilings measured right after it, under the same load.
b client-credentials --tenant $tenant --client-id $job --client-secret $secret --scope api://tasks/.default
b refresh --tenant $tenant --client-id $web --client-secret $secret --redirect-uri http://localhost:3000/callback \
  --username abeli@contoso.onmicrosoft.com --password $password --scope "api://tasks/access_as_user offline_access"
b refresh --tenant $tenant --client-id $web --client-secret $secret --redirect-uri http://localhost:3000/callback \
  --username abeli@contoso.onmicrosoft.com --password $password --ceilings=false   # with openid: an ID token too
b signin -c 4 --tenant $tenant --client-id $web --client-secret $secret --redirect-uri http://localhost:3000/callback \
  --username abeli@contoso.onmicrosoft.com --password $password --warmup 1
kill %1; wait %1 2>/dev/null || true

echo "# go test benchmarks"
go test -run '^$' -bench 'ServeColdStart' -benchtime 10x ./cmd/entrance | grep -E '^Benchmark'
go test -run '^$' -bench 'RS256Raw|SignJWT' -cpu 1,2 ./internal/keys | grep -E '^Benchmark'
go test -run '^$' -bench 'Argon2id' ./internal/secrets | grep -E '^Benchmark'
# Issue 3 and 4's ratios: load slices alternating with ceiling slices (loadgen.Interleave).
go test -run '^$' -bench 'PasswordSignIn|RefreshRedemption' -benchtime 1x ./internal/e2e | grep -E '^Benchmark'
go test -run '^$' -bench 'ClientCredentials' -benchtime 1x ./internal/e2e/apitokens | grep -E '^Benchmark'
