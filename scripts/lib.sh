# shellcheck shell=bash
# Helpers shared by scripts/start.sh, scripts/test.sh and scripts/bench.sh.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Every ensure_* function installs its tool only when it is missing (or has the wrong
# version), says what it installs and how long that took, and is safe to call again.
# Pinned versions and the reasons for them: /work/shared/TOOLCHAIN.md.

if [[ -n ${_PLATFORM_LIB_SH:-} ]]; then return 0; fi
_PLATFORM_LIB_SH=1

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT

CARGO_LEPTOS_VERSION=0.3.10        # 0.3.11 needs rustc 1.96
WASM_BINDGEN_DEFAULT_VERSION=0.2.130 # must equal the wasm-bindgen in Cargo.lock
BINARYEN_VERSION=132               # Debian's binaryen 108 is too old for current rustc
WASM_TARGET=wasm32-unknown-unknown
CHROMIUM=/usr/bin/chromium

# ---------------------------------------------------------------------------------------
# Output and timing

# step "msg": prints "==> msg" and starts the clock that step_done reads.
step() {
  _STEP_T0=$SECONDS
  printf '==> %s\n' "$*"
}

# step_done: prints "    done in N s" for the last step.
step_done() {
  printf '    done in %d s\n' $((SECONDS - ${_STEP_T0:-$SECONDS}))
}

# timed "msg" cmd args...: step + command + step_done. Fails (under set -e) if cmd fails.
timed() {
  local msg=$1 t0=$SECONDS
  shift
  printf '==> %s\n' "$msg"
  "$@"
  printf '    done in %d s\n' $((SECONDS - t0))
}

# ok "msg": a check that needed no install.
ok() {
  printf '    ok: %s\n' "$*"
}

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# Hides the password of a URL like postgres://user:secret@host/db.
redact_url() {
  sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$1"
}

# ---------------------------------------------------------------------------------------
# Cleanup on exit: add_cleanup 'shell code' queues code that runs (last added first) when
# the script exits, whether it succeeded, failed or was interrupted.

_CLEANUPS=()

add_cleanup() {
  _CLEANUPS+=("$1")
}

# Runs the queued cleanups now and forgets them (test.sh does this before its summary so
# that the summary stays the last line printed).
run_cleanups() {
  local i
  for ((i = ${#_CLEANUPS[@]} - 1; i >= 0; i--)); do
    eval "${_CLEANUPS[i]}" || true
  done
  _CLEANUPS=()
}

_on_exit() {
  local rc=$?
  set +e
  run_cleanups
  exit "$rc"
}

trap _on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------
# Small utilities

# free_port: prints a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  if command -v python3 >/dev/null 2>&1 &&
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' 2>/dev/null; then
    return 0
  fi
  local p _
  for _ in $(seq 1 500); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  echo "free_port: no free port found" >&2
  return 1
}

# wait_http URL SECONDS [PID]: waits until URL answers with a 2xx; if PID is given and that
# process dies meanwhile, gives up at once. Returns non-zero on timeout.
wait_http() {
  local url=$1 timeout=$2 pid=${3:-} t0=$SECONDS
  while ((SECONDS - t0 < timeout)); do
    if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then
      return 0
    fi
    if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
      echo "    process $pid exited before $url answered" >&2
      return 1
    fi
    sleep 0.5
  done
  echo "    $url did not answer within $timeout s" >&2
  return 1
}

# stop_pid PID [NAME]: SIGTERM, up to 10 s grace, then SIGKILL.
stop_pid() {
  local pid=$1 name=${2:-process} i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 20); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "    $name ($pid) ignored SIGTERM, killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------
# Debian packages (root on this machine kind; sudo elsewhere)

_SUDO=()
if [[ $EUID -ne 0 ]]; then _SUDO=(sudo); fi

# True while an apt/dpkg process runs (pgrep matches names of at most 15 characters, so
# one name per call).
_apt_busy() {
  local n
  for n in apt apt-get aptitude dpkg unattended-upgr; do
    if pgrep -x "$n" >/dev/null 2>&1; then return 0; fi
  done
  return 1
}

# Waits while another apt/dpkg is running (for instance one started by hand in the
# background), instead of racing it for the lock.
apt_wait() {
  local t0=$SECONDS said=""
  while _apt_busy; do
    if [[ -z $said ]]; then
      echo "    another apt-get/dpkg is running; waiting for it to finish"
      said=1
    fi
    if ((SECONDS - t0 > 1800)); then
      die "apt/dpkg still busy after 30 min"
    fi
    sleep 3
  done
  if [[ -n $said ]]; then echo "    apt is free again after $((SECONDS - t0)) s"; fi
}

_APT_UPDATED=""
apt_update_once() {
  if [[ -n $_APT_UPDATED ]]; then return 0; fi
  apt_wait
  timed "apt-get update" "${_SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
  _APT_UPDATED=1
}

# apt_install PKG...: apt-get install -y, after one apt-get update per script run.
apt_install() {
  apt_update_once
  apt_wait
  timed "apt-get install -y $*" "${_SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "$@"
}

# ---------------------------------------------------------------------------------------
# Rust / Leptos toolchain

ensure_wasm_target() {
  if rustup target list --installed 2>/dev/null | grep -x "$WASM_TARGET" >/dev/null; then
    ok "rust target $WASM_TARGET"
  else
    timed "installing rust target $WASM_TARGET" rustup target add "$WASM_TARGET"
  fi
}

ensure_cargo_leptos() {
  local v
  v=$(cargo leptos --version 2>/dev/null || true)
  if [[ $v == *"$CARGO_LEPTOS_VERSION"* ]]; then
    ok "cargo-leptos $CARGO_LEPTOS_VERSION"
    return 0
  fi
  if [[ -n $v ]]; then echo "    found '$v', want $CARGO_LEPTOS_VERSION"; fi
  timed "installing cargo-leptos $CARGO_LEPTOS_VERSION (first time only, ~15 min on 2 cores)" \
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
}

# The wasm-bindgen version the project locks (Cargo.lock), else the pinned default.
wasm_bindgen_version() {
  local v=""
  if [[ -f $ROOT/Cargo.lock ]]; then
    v=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")
  fi
  echo "${v:-$WASM_BINDGEN_DEFAULT_VERSION}"
}

# cargo-leptos 0.3.10 runs the `wasm-bindgen` it finds on PATH and would otherwise try to
# download one (impossible here). Its version must equal the project's wasm-bindgen crate.
ensure_wasm_bindgen() {
  local want have
  want=$(wasm_bindgen_version)
  have=$(wasm-bindgen --version 2>/dev/null || true)
  if [[ $have == "wasm-bindgen $want"* ]]; then
    ok "wasm-bindgen-cli $want"
    return 0
  fi
  if [[ -n $have ]]; then echo "    found '$have', want $want"; fi
  # No --locked: wasm-bindgen-cli's own lockfile names a crate version the registry lacks.
  timed "installing wasm-bindgen-cli $want (first time only, ~5 min on 2 cores)" \
    cargo install wasm-bindgen-cli --version "$want"
}

# wasm-opt for release builds: binaryen from npm, kept in .tools/ (gitignored).
ensure_wasm_opt() {
  local prefix=$ROOT/.tools/binaryen
  local bin=$prefix/node_modules/.bin
  local have=""
  if [[ -x $bin/wasm-opt ]]; then have=$("$bin/wasm-opt" --version 2>/dev/null || true); fi
  if [[ $have == *"version $BINARYEN_VERSION"* || $have == *"version_$BINARYEN_VERSION"* ]]; then
    ok "wasm-opt (binaryen $BINARYEN_VERSION, .tools/binaryen)"
  else
    mkdir -p "$prefix"
    timed "installing wasm-opt: npm binaryen@$BINARYEN_VERSION into .tools/binaryen" \
      npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "binaryen@$BINARYEN_VERSION"
  fi
  case ":$PATH:" in
    *":$bin:"*) ;;
    *) export PATH="$bin:$PATH" ;;
  esac
}

# ---------------------------------------------------------------------------------------
# Browser tests

ensure_chromium() {
  if [[ -x $CHROMIUM ]]; then
    ok "chromium ($CHROMIUM)"
  else
    apt_install chromium
    [[ -x $CHROMIUM ]] || die "apt-get install chromium did not provide $CHROMIUM"
  fi
}

# playwright-core only: it never downloads a browser (the tests use Debian's chromium).
# No lockfile is kept in git, so this is `npm install`, not `npm ci`.
ensure_node_deps() {
  local dir=$ROOT/end2end want have=""
  want=$(node -p 'require(process.argv[1]).devDependencies["playwright-core"]' "$dir/package.json")
  if [[ -f $dir/node_modules/playwright-core/package.json ]]; then
    have=$(node -p 'require(process.argv[1]).version' "$dir/node_modules/playwright-core/package.json")
  fi
  if [[ $have == "$want" ]]; then
    ok "end2end node deps (playwright-core $have)"
  else
    timed "installing end2end node deps (playwright-core $want, no browser download)" \
      env PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$dir" --no-audit --no-fund --loglevel=error
  fi
}

# ---------------------------------------------------------------------------------------
# PostgreSQL

# Prints the newest /usr/lib/postgresql/*/bin that has initdb (empty if none).
pg_bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    if [[ -x $d/initdb ]]; then echo "$d"; fi
  done | sort -V | tail -n 1
}

ensure_postgres_binaries() {
  local d
  d=$(pg_bindir)
  if [[ -n $d ]]; then
    ok "PostgreSQL server binaries ($d)"
  else
    apt_install postgresql
    d=$(pg_bindir)
    [[ -n $d ]] || die "apt-get install postgresql did not provide /usr/lib/postgresql/*/bin/initdb"
  fi
}

# Runs a command as the postgres user when we are root (initdb refuses to run as root).
_as_pg() {
  if [[ $EUID -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

_pg_reachable() {
  local url=$1 psql
  psql=$(pg_bindir)/psql
  [[ -x $psql ]] || psql=$(command -v psql || true)
  [[ -n $psql ]] || return 1
  PGCONNECT_TIMEOUT=5 "$psql" "$url" -Atqc 'select 1' >/dev/null 2>&1
}

_stop_private_postgres() {
  local bindir=$1 dir=$2
  if [[ -f $dir/data/postmaster.pid ]]; then
    _as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
      echo "    warning: pg_ctl stop failed for $dir/data" >&2
  fi
  rm -rf "$dir"
  echo "==> stopped the private PostgreSQL and removed $dir"
}

# start_private_postgres: exports PLATFORM_TEST_PG_URL.
# Uses PLATFORM_TEST_PG_URL or DATABASE_URL when either is a reachable postgres:// URL;
# otherwise starts a throwaway cluster (temp dir, free port, 127.0.0.1 only) that an exit
# trap stops and removes, whether the tests pass or not. The cluster skips fsync (it is thrown
# away) unless PG_DURABLE=1, which benchmarks that count commits set.
start_private_postgres() {
  local url
  for url in "${PLATFORM_TEST_PG_URL:-}" "${DATABASE_URL:-}"; do
    if [[ $url == postgres://* || $url == postgresql://* ]]; then
      if _pg_reachable "$url"; then
        export PLATFORM_TEST_PG_URL=$url
        ok "using the existing PostgreSQL at $(redact_url "$url")"
        return 0
      fi
      echo "    $(redact_url "$url") is not reachable; starting a private PostgreSQL instead"
    fi
  done

  # The exit trap belongs to the main shell: a cluster started in ( ) or $( ) would leak.
  if [[ $BASHPID != "$$" ]]; then
    die "call start_private_postgres from the script's main shell, not a subshell"
  fi
  local bindir dir port attempt t0=$SECONDS durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  if [[ ${PG_DURABLE:-} == 1 ]]; then durability=""; fi
  bindir=$(pg_bindir)
  [[ -n $bindir ]] || die "no PostgreSQL server binaries: call ensure_postgres_binaries first"
  step "starting a private PostgreSQL ($bindir)"
  # /tmp rather than $TMPDIR: the postgres user must be able to reach the directory.
  dir=$(mktemp -d /tmp/platform-pg.XXXXXX)
  add_cleanup "$(printf '_stop_private_postgres %q %q' "$bindir" "$dir")"
  chmod 755 "$dir"
  if [[ $EUID -eq 0 ]]; then chown postgres: "$dir"; fi

  if ! _as_pg "$bindir/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-locale --no-sync \
    >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    die "initdb failed"
  fi

  for attempt in 1 2 3; do
    port=$(free_port)
    if _as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 $durability" \
      start >/dev/null 2>&1; then
      break
    fi
    echo "    pg_ctl start on port $port failed (attempt $attempt); log tail:" >&2
    tail -n 20 "$dir/log" >&2 || true
    port=""
  done
  [[ -n $port ]] || die "could not start PostgreSQL"

  export PLATFORM_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
  if ! _pg_reachable "$PLATFORM_TEST_PG_URL"; then
    tail -n 20 "$dir/log" >&2 || true
    die "PostgreSQL started but does not answer at $PLATFORM_TEST_PG_URL"
  fi
  echo "    PLATFORM_TEST_PG_URL=$PLATFORM_TEST_PG_URL (data in $dir, stopped on exit)"
  printf '    done in %d s\n' $((SECONDS - t0))
}
