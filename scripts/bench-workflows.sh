#!/usr/bin/env bash
# Workflow engine benchmark (issue 3): no-op steps per second and the delay from an event to
# the start of the step it triggers (p50/p90/p99), on SQLite with one replica and on PostgreSQL
# with one and with two replicas, plus resident memory.
#
#   bash scripts/bench-workflows.sh
#
# Builds server/examples/workflow_bench.rs in release and runs it per database and replica
# count. PostgreSQL: PLATFORM_TEST_PG_URL or DATABASE_URL when either names a reachable server,
# else a private cluster on 127.0.0.1 with fsync ON (PG_DURABLE=1: commits reach the disk, as in
# production), stopped on exit. Each run creates its own database and removes it afterwards.
#
# Environment: BENCH_RUNS [500] runs of BENCH_STEPS [10] no-op steps, BENCH_EVENTS [300].
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
export LEPTOS_OUTPUT_NAME=platform PG_DURABLE=1
RUNS=${BENCH_RUNS:-500}
STEPS=${BENCH_STEPS:-10}
EVENTS=${BENCH_EVENTS:-300}
BIN=target/release/examples/workflow_bench

timed "cargo build --release -p server --example workflow_bench" \
  cargo build --release -p server --example workflow_bench
[[ -x $BIN ]] || die "$BIN was not built"
ensure_postgres_binaries
start_private_postgres

common=(--runs "$RUNS" --steps "$STEPS" --events "$EVENTS")
step "SQLite, one replica"
RUST_LOG=warn "$BIN" --database sqlite --replicas 1 "${common[@]}"
for replicas in 1 2; do
  step "PostgreSQL, $replicas replica(s)"
  RUST_LOG=warn "$BIN" --database "$PLATFORM_TEST_PG_URL" --replicas "$replicas" "${common[@]}"
done
run_cleanups
