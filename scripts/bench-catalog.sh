#!/usr/bin/env bash
# Catalog benchmark (issue 4): ingest rate, server-side latency of the list, filter, deep page
# and get-by-reference, throughput under 16 concurrent tasks and resident memory, on SQLite and
# on PostgreSQL.
#
#   bash scripts/bench-catalog.sh            # N = 10,000 on SQLite and on PostgreSQL
#   bash scripts/bench-catalog.sh --large    # also N = 250,000 on both (takes long)
#
# Builds server/examples/catalog_bench.rs in release and runs it once per database and size.
# PostgreSQL: PLATFORM_TEST_PG_URL or DATABASE_URL when either names a reachable server, else a
# private throwaway cluster on 127.0.0.1 (start_private_postgres in lib.sh), stopped on exit.
# Each run creates its own database (a temp SQLite file, or bench_<random> on the server) and
# removes it afterwards. All traffic stays on 127.0.0.1.
#
# Environment: BENCH_REQUESTS [1000] calls per latency series, BENCH_SECONDS [5] per throughput
# run, BENCH_CHUNK [10000] documents per apply during ingest (a location refresh applies a whole
# repository at once; try 1000 for what one REST request carries), BENCH_BUDGET [90] seconds at
# most per latency series, BENCH_TIMEOUT [1800] seconds at
# most per run, BENCH_DATABASES ["sqlite postgres"].
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

LARGE=""
for arg in "$@"; do
  case $arg in
    --large) LARGE=1 ;;
    -h | --help)
      sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) die "unknown argument '$arg' (use --large or --help)" ;;
  esac
done

REQUESTS=${BENCH_REQUESTS:-1000}
SECONDS_EACH=${BENCH_SECONDS:-5}
BUDGET=${BENCH_BUDGET:-90}
CHUNK=${BENCH_CHUNK:-10000}
RUN_TIMEOUT=${BENCH_TIMEOUT:-1800}
DATABASES=${BENCH_DATABASES:-sqlite postgres}
SIZES=(10000)
if [[ -n $LARGE ]]; then SIZES+=(250000); fi
BIN=target/release/examples/catalog_bench

timed "cargo build --release -p server --example catalog_bench" \
  cargo build --release -p server --example catalog_bench
[[ -x $BIN ]] || die "$BIN was not built"

PG_URL=""
if [[ " $DATABASES " == *" postgres "* ]]; then
  ensure_postgres_binaries
  start_private_postgres
  PG_URL=$PLATFORM_TEST_PG_URL
fi

if [[ -n $LARGE ]]; then
  echo "==> --large: N = 250,000 runs too; each takes a long time (many minutes of ingest per database)"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/catalog-bench.XXXXXX")
add_cleanup "$(printf 'rm -rf %q' "$WORK")"

declare -a SUMMARY=()
for n in "${SIZES[@]}"; do
  for db in $DATABASES; do
    case $db in
      sqlite) target=sqlite shown=sqlite ;;
      postgres) target=$PG_URL shown="postgres ($(redact_url "$PG_URL"))" ;;
      *) die "unknown database '$db' in BENCH_DATABASES" ;;
    esac
    log="$WORK/bench-$db-$n.txt"
    step "catalog_bench --entities $n on $shown (at most $RUN_TIMEOUT s)"
    if timeout --signal=INT --kill-after=30 "$RUN_TIMEOUT" "$BIN" --entities "$n" --database "$target" \
      --requests "$REQUESTS" --seconds "$SECONDS_EACH" --budget "$BUDGET" --chunk "$CHUNK" 2>&1 | tee "$log"; then
      step_done
      SUMMARY+=("$log")
    else
      echo "    catalog_bench failed or timed out for $db, N = $n (see above)" >&2
      exit 1
    fi
  done
done

run_cleanups_keep_logs() {
  local log
  echo
  echo "==> summary ($(nproc) cores)"
  for log in "${SUMMARY[@]}"; do
    sed -n '/^==> results/,$p' "$log"
    echo
  done
}
run_cleanups_keep_logs
