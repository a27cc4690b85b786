#!/usr/bin/env bash
# Idempotent, non-interactive set-up for developing and testing Tollgate on Debian 12.
#
# Installs only what is missing:
#   - Debian packages: chromium, chromium-driver, firefox-esr, redis-server, xvfb (apt)
#   - the wasm32-unknown-unknown Rust target, rustfmt and clippy (rustup)
#   - wasm-bindgen-cli matching the wasm-bindgen version in Cargo.lock (crates.io)
#   - cargo-fuzz (crates.io), only when a nightly toolchain is already installed
#   - the npm dev dependencies from package-lock.json (npm ci)
# Prerequisites (not installed here, nothing is downloaded outside apt/crates.io/npm/rustup):
# a rustup-managed Rust toolchain and Node.js >= 20 with npm.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

log() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

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

APT_PACKAGES=(chromium chromium-driver firefox-esr redis-server xvfb)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  # Debian's own Node.js (18 on bookworm) is a fallback only; the project targets Node >= 20.
  APT_PACKAGES+=(nodejs npm)
fi
missing=()
for p in "${APT_PACKAGES[@]}"; do
  is_installed "$p" || missing+=("$p")
done
if ((${#missing[@]})); then
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install ${missing[*]} by hand"
  log "installing Debian packages: ${missing[*]}"
  "${SUDO[@]}" apt-get update -q
  "${SUDO[@]}" apt-get install -y -q "${missing[@]}"
else
  log "Debian packages present: ${APT_PACKAGES[*]}"
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
components=()
cargo fmt --version >/dev/null 2>&1 || components+=(rustfmt)
cargo clippy --version >/dev/null 2>&1 || components+=(clippy)
if ((${#components[@]})); then
  log "adding Rust components: ${components[*]}"
  rustup component add "${components[@]}"
fi

# --- cargo-fuzz, only where a nightly toolchain is installed (fuzz smoke in test.sh) -----------
# Nightly itself is not installed here; cargo-fuzz comes from crates.io.
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
command -v node >/dev/null 2>&1 || die "node not found"
node_major=$(node -p 'process.versions.node.split(".")[0]')
if ((node_major < 20)); then
  log "warning: Node.js $(node --version) is older than the supported 20; e2e tests may fail"
fi
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

log "done"
