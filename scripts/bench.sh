#!/usr/bin/env bash
# Measures the release build: idle memory, throughput and latency on loopback, WASM size.
#
#   bash scripts/bench.sh
#
# Builds nothing: it expects target/release/platform and target/site from
# `cargo leptos build --release` (scripts/start.sh does that). It starts the server on a
# free 127.0.0.1 port with a throwaway SQLite database (demo data on), reads its idle RSS,
# signs in as admin, runs wrk against GET /healthz and GET / (with the session cookie),
# then stops the server. All traffic stays on 127.0.0.1 and every run is time-bounded.
#
# Environment: BENCH_DURATION [10s], BENCH_THREADS [2], BENCH_CONNECTIONS [4].
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

DURATION=${BENCH_DURATION:-10s}
THREADS=${BENCH_THREADS:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-4}
BIN=${BENCH_BIN:-target/release/platform}

[[ -x $BIN ]] || die "$BIN not found: build it first (bash scripts/start.sh, or cargo leptos build --release)"

if command -v wrk >/dev/null 2>&1; then
  ok "wrk ($(command -v wrk))"
else
  apt_install wrk
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/platform-bench.XXXXXX")
add_cleanup "$(printf 'rm -rf %q' "$WORK")"

# ---------------------------------------------------------------------------------------
# Server

PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
step "starting $BIN serve on $BASE (SQLite in $WORK)"
DATABASE_URL="sqlite://$WORK/bench.db" \
  PLATFORM_ADDR="127.0.0.1:$PORT" \
  LEPTOS_SITE_ADDR="127.0.0.1:$PORT" \
  LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-target/site}" \
  "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
add_cleanup "stop_pid $SERVER_PID 'platform serve'"
if ! wait_http "$BASE/healthz" 60 "$SERVER_PID"; then
  tail -n 40 "$WORK/server.log" >&2 || true
  die "the server did not come up"
fi
step_done

rss_kib() {
  awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status"
}
mib() {
  awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'
}

sleep 3
IDLE_RSS=$(rss_kib)

# ---------------------------------------------------------------------------------------
# Session

step "signing in as admin"
JAR="$WORK/cookies.txt"
status=$(curl -sS -o "$WORK/login.json" -w '%{http_code}' -c "$JAR" \
  -H 'Content-Type: application/json' -H "Origin: $BASE" \
  -d '{"username":"admin","password":"demo-password"}' \
  "$BASE/api/v1/auth/login")
[[ $status == 2* ]] || die "POST /api/v1/auth/login answered $status: $(head -c 300 "$WORK/login.json")"
# Netscape cookie jar: HttpOnly cookies start with "#HttpOnly_"; other # lines are comments.
COOKIE=$(awk -F '\t' '
  { sub(/^#HttpOnly_/, "") }
  /^#/ || NF < 7 { next }
  { printf "%s%s=%s", sep, $6, $7; sep = "; " }' "$JAR")
[[ -n $COOKIE ]] || die "the login set no cookie"
home_status=$(curl -sS -o /dev/null -w '%{http_code}' -H "Cookie: $COOKIE" "$BASE/")
[[ $home_status == 200 ]] || die "GET / with the session cookie answered $home_status, want 200"
step_done

# ---------------------------------------------------------------------------------------
# Load

# Adds the Cookie header (if BENCH_COOKIE is set) and prints one parseable result line.
cat >"$WORK/bench.lua" <<'LUA'
local cookie = os.getenv("BENCH_COOKIE")
if cookie ~= nil and cookie ~= "" then
  wrk.headers["Cookie"] = cookie
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH rps=%.0f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f requests=%d errors=%d non2xx3xx=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.requests, e.connect + e.read + e.write + e.timeout, e.status))
end
LUA

declare -A RESULT=()
run_wrk() {
  local label=$1 path=$2 cookie=$3 out
  out="$WORK/wrk-${label//[^a-z]/_}.txt"
  step "wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency GET $path ($label)"
  if ! BENCH_COOKIE="$cookie" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --timeout 5s --latency \
    -s "$WORK/bench.lua" "$BASE$path" >"$out" 2>&1; then
    cat "$out" >&2
    die "wrk failed"
  fi
  step_done
  RESULT[$label]=$(grep '^BENCH ' "$out" | sed 's/^BENCH //')
  [[ -n ${RESULT[$label]} ]] || {
    cat "$out" >&2
    die "wrk printed no result"
  }
}

field() { # field "k=v k=v" k
  tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k { print $2 }'
}

run_wrk "healthz" /healthz ""
run_wrk "home" / "$COOKIE"
LOADED_RSS=$(rss_kib)

# ---------------------------------------------------------------------------------------
# WASM size (whatever the last cargo leptos build left in target/site)

WASM_LINE="none found in ${LEPTOS_SITE_ROOT:-target/site}/pkg"
shopt -s nullglob
wasm_files=("${LEPTOS_SITE_ROOT:-target/site}"/pkg/*.wasm)
shopt -u nullglob
if ((${#wasm_files[@]} > 0)); then
  wasm=${wasm_files[0]}
  raw=$(wc -c <"$wasm")
  gz=$(gzip -9 -c "$wasm" | wc -c)
  WASM_LINE=$(awk -v r="$raw" -v g="$gz" 'BEGIN { printf "%.0f KB raw, %.0f KB gzip -9", r / 1000, g / 1000 }')
  WASM_LINE="$WASM_LINE ($wasm)"
  if ((raw > 2000000)); then
    WASM_LINE="$WASM_LINE  <- looks like a DEBUG build: run cargo leptos build --release"
  fi
fi

# ---------------------------------------------------------------------------------------
# Report

run_cleanups
echo
echo "==> results ($(nproc) cores; wrk -t$THREADS -c$CONNECTIONS -d$DURATION on 127.0.0.1)"
printf '    %-28s %s\n' "idle RSS (3 s after start)" "$(mib "$IDLE_RSS")"
printf '    %-28s %s\n' "RSS after the load" "$(mib "$LOADED_RSS")"
printf '    %-28s %10s %10s %10s %10s %8s\n' "endpoint" "req/s" "p50 ms" "p99 ms" "max ms" "errors"
for label in healthz home; do
  r=${RESULT[$label]}
  case $label in
    healthz) name="GET /healthz" ;;
    home) name="GET / (admin session)" ;;
  esac
  printf '    %-28s %10s %10s %10s %10s %8s\n' "$name" "$(field "$r" rps)" "$(field "$r" p50_ms)" \
    "$(field "$r" p99_ms)" "$(field "$r" max_ms)" "$(($(field "$r" errors) + $(field "$r" non2xx3xx)))"
done
printf '    %-28s %s\n' "WASM bundle" "$WASM_LINE"
