#!/usr/bin/env bash
# Runs the whole test suite (the README's second command; also what CI runs).
#
#   bash scripts/test.sh [--no-e2e]
#
# 1. Rust tests: `cargo test -p app -p server` (app built with `ssr`), with a
#    PostgreSQL (a private throwaway cluster, or DATABASE_URL / PLATFORM_TEST_PG_URL if
#    it points at a reachable postgres://) so store and router tests run on SQLite and on
#    PostgreSQL. PLATFORM_REQUIRE_PG=1 makes them fail rather than skip without one.
# 2. Browser tests (skipped with --no-e2e): `cargo leptos build` (debug), the server on a
#    free port with a fresh SQLite database, and `node --test` in end2end/ driving
#    Debian's chromium through playwright-core.
# The last line printed is "N passed, N failed" summed over all runners; the exit code is
# non-zero if any test or stage failed.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

usage() {
  sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

E2E=1
for arg in "$@"; do
  case $arg in
    --no-e2e) E2E=0 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage >&2
      die "unknown option: $arg"
      ;;
  esac
done

T_START=$SECONDS
WORK=$(mktemp -d "${TMPDIR:-/tmp}/platform-test.XXXXXX")
add_cleanup "$(printf 'rm -rf %q' "$WORK")"

declare -a STAGE_NAMES=()
declare -A STAGE_RC=() STAGE_PASSED=() STAGE_FAILED=() STAGE_SECS=() STAGE_NOTE=()

# run_stage NAME cmd...: runs cmd with its output shown and kept in $WORK/NAME.log, then
# counts the tests it reports (cargo's "test result:" lines, node's "# pass"/"# fail" or
# "ℹ pass"/"ℹ fail" lines). Never aborts the script: the outcome goes into STAGE_*.
run_stage() {
  local name=$1 rc=0 t0=$SECONDS log
  shift
  log="$WORK/$name.log"
  STAGE_NAMES+=("$name")
  printf '==> %s: %s\n' "$name" "$*"
  "$@" 2>&1 | tee "$log" || rc=$?
  STAGE_RC[$name]=$rc
  STAGE_SECS[$name]=$((SECONDS - t0))
  count_tests "$name" "$log"
  printf '    %s: exit %d, %d passed, %d failed, %d s\n' "$name" "$rc" \
    "${STAGE_PASSED[$name]}" "${STAGE_FAILED[$name]}" "${STAGE_SECS[$name]}"
  return 0
}

count_tests() {
  local name=$1 log=$2 counts
  counts=$(awk '
    /^test result: / {
      for (i = 1; i <= NF; i++) {
        if ($(i) ~ /^passed;?$/) p += $(i - 1)
        if ($(i) ~ /^failed;?$/) f += $(i - 1)
      }
    }
    /^(# |ℹ )pass [0-9]+$/ { p += $NF }
    /^(# |ℹ )fail [0-9]+$/ { f += $NF }
    END { printf "%d %d", p, f }' "$log")
  STAGE_PASSED[$name]=${counts% *}
  STAGE_FAILED[$name]=${counts#* }
  # A stage that failed without reporting a failed test (a compile error, a server that did
  # not start) still counts as one failure, so the summary never says "0 failed" on a red run.
  if [[ ${STAGE_RC[$name]} -ne 0 && ${STAGE_FAILED[$name]} -eq 0 ]]; then
    STAGE_FAILED[$name]=1
    STAGE_NOTE[$name]="exit ${STAGE_RC[$name]} without a failed test: counted as 1 failure"
  fi
}

# skip_stage NAME REASON
skip_stage() {
  STAGE_NAMES+=("$1")
  STAGE_RC[$1]=0
  STAGE_PASSED[$1]=0
  STAGE_FAILED[$1]=0
  STAGE_SECS[$1]=0
  STAGE_NOTE[$1]="skipped: $2"
  printf '==> %s: skipped (%s)\n' "$1" "$2"
}

# fail_stage NAME REASON [FAILURES]: a stage that could not run at all; it counts as
# FAILURES (default 1) failed tests; 0 when an earlier stage already counted the cause.
fail_stage() {
  STAGE_NAMES+=("$1")
  STAGE_RC[$1]=1
  STAGE_PASSED[$1]=0
  STAGE_FAILED[$1]=${3:-1}
  STAGE_SECS[$1]=0
  STAGE_NOTE[$1]="not run: $2"
  printf '==> %s: NOT RUN (%s)\n' "$1" "$2"
}

# ---------------------------------------------------------------------------------------
# Tools and services

step "checking tools"
ensure_wasm_target
ensure_cargo_leptos
ensure_wasm_bindgen
if [[ $E2E -eq 1 ]]; then
  ensure_chromium
  ensure_node_deps
fi
ensure_postgres_binaries
step_done

start_private_postgres
export PLATFORM_TEST_PG_URL
export PLATFORM_REQUIRE_PG="${PLATFORM_REQUIRE_PG:-1}"

# ---------------------------------------------------------------------------------------
# Rust tests (SQLite and PostgreSQL)

# cargo-leptos compiles with LEPTOS_OUTPUT_NAME set, and leptos reads it at compile time: setting
# it here too lets `cargo leptos build` below reuse the server-side artifacts of `cargo test`.
export LEPTOS_OUTPUT_NAME=platform
# One invocation for both crates: `server` enables app's `ssr` feature, so app's unit tests are
# built with it and every dependency is compiled once.
run_stage "cargo-test" cargo test --no-fail-fast -p app -p server

# ---------------------------------------------------------------------------------------
# Browser tests

SERVER_PID=""
stop_server() {
  if [[ -n $SERVER_PID ]]; then
    stop_pid "$SERVER_PID" "platform serve"
    SERVER_PID=""
  fi
}

run_e2e() {
  run_stage "leptos-build" cargo leptos build
  if [[ ${STAGE_RC[leptos-build]} -ne 0 ]]; then
    fail_stage "e2e" "cargo leptos build failed" 0
    return 0
  fi
  if [[ ! -x target/debug/platform ]]; then
    fail_stage "e2e" "cargo leptos build did not produce target/debug/platform"
    return 0
  fi

  local port base srvlog
  port=$(free_port)
  base="http://127.0.0.1:$port"
  srvlog="$WORK/server.log"
  step "starting target/debug/platform serve on $base (SQLite $WORK/e2e.db)"
  DATABASE_URL="sqlite://$WORK/e2e.db" \
    PLATFORM_ADDR="127.0.0.1:$port" \
    LEPTOS_SITE_ADDR="127.0.0.1:$port" \
    LEPTOS_SITE_ROOT=target/site \
    target/debug/platform serve >"$srvlog" 2>&1 &
  SERVER_PID=$!
  add_cleanup stop_server
  if ! wait_http "$base/healthz" 60 "$SERVER_PID"; then
    echo "    --- last 40 lines of the server log ---"
    tail -n 40 "$srvlog" || true
    echo "    ---"
    fail_stage "e2e" "the server did not come up at $base/healthz (its log is above)"
    return 0
  fi
  step_done

  run_stage "e2e" env BASE_URL="$base" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
    bash -c 'cd end2end && exec node --test tests/*.test.mjs'
  if [[ ${STAGE_RC[e2e]} -ne 0 ]]; then
    echo "    --- last 40 lines of the server log ---"
    tail -n 40 "$srvlog" || true
    echo "    ---"
  fi
  echo "    screenshots: end2end/screenshots/"
  stop_server
}

if [[ $E2E -eq 1 ]]; then
  run_e2e
else
  skip_stage "e2e" "--no-e2e given: no cargo leptos build, no server, no browser"
fi

# ---------------------------------------------------------------------------------------
# Summary (cleanups first, so that the summary is the last thing printed)

run_cleanups

total_passed=0
total_failed=0
any_rc=0
echo
echo "==> summary ($((SECONDS - T_START)) s)"
for name in "${STAGE_NAMES[@]}"; do
  printf '    %-18s %4d passed %4d failed  exit %-3d %5d s  %s\n' "$name" \
    "${STAGE_PASSED[$name]}" "${STAGE_FAILED[$name]}" "${STAGE_RC[$name]}" \
    "${STAGE_SECS[$name]}" "${STAGE_NOTE[$name]:-}"
  total_passed=$((total_passed + ${STAGE_PASSED[$name]}))
  total_failed=$((total_failed + ${STAGE_FAILED[$name]}))
  if [[ ${STAGE_RC[$name]} -ne 0 ]]; then any_rc=1; fi
done
if [[ $total_passed -eq 0 && $total_failed -eq 0 ]]; then
  # Nothing ran at all: treat as a failure rather than a silent green.
  echo "    no test ran: counted as 1 failure"
  total_failed=1
fi
echo "$total_passed passed, $total_failed failed"

if [[ $total_failed -ne 0 || $any_rc -ne 0 ]]; then
  exit 1
fi
