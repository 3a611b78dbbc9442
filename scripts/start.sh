#!/usr/bin/env bash
# Builds the portal in release mode and runs it (the README's first command).
#
#   bash scripts/start.sh [extra args for `platform serve`...]
#
# Environment (defaults in brackets):
#   DATABASE_URL   [sqlite://data/platform.db]   or a postgres:// URL
#   PLATFORM_ADDR  [127.0.0.1:3000]
# Demo data is seeded by default; the server prints the login URL and the demo accounts.
# The first run installs the wasm target, cargo-leptos, wasm-bindgen-cli and wasm-opt
# (about 20 minutes on 2 cores); later runs only rebuild what changed.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

T0=$SECONDS
ensure_wasm_target
ensure_cargo_leptos
ensure_wasm_bindgen
ensure_wasm_opt
timed "building the release (cargo leptos build --release)" cargo leptos build --release
[[ -x target/release/platform ]] || die "the build did not produce target/release/platform"

export DATABASE_URL="${DATABASE_URL:-sqlite://data/platform.db}"
export PLATFORM_ADDR="${PLATFORM_ADDR:-127.0.0.1:3000}"
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-target/site}"
export LEPTOS_SITE_ADDR="${LEPTOS_SITE_ADDR:-$PLATFORM_ADDR}"
if [[ $DATABASE_URL == sqlite://* ]]; then
  # sqlite://data/platform.db is relative to the repo root; make sure its folder exists.
  db_path=${DATABASE_URL#sqlite://}
  db_path=${db_path%%\?*}
  mkdir -p "$(dirname "$db_path")"
fi

echo "==> ready after $((SECONDS - T0)) s; starting target/release/platform serve $*"
echo "    DATABASE_URL=$(redact_url "$DATABASE_URL") PLATFORM_ADDR=$PLATFORM_ADDR"
exec target/release/platform serve "$@"
