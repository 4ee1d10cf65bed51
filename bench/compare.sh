#!/usr/bin/env bash
# Upstream (Go, v0.42) and ours, side by side in ONE run (issue 17):
#
#   bench/compare.sh                       # 3 rounds, every scenario
#   bench/compare.sh --rounds 5 -- --duration 5 --scenarios healthz,token
#
# Each round starts upstream on a fresh database, benchmarks it, stops it, then does the
# same for ours (the order alternates between rounds), with the same settings: HS256 key,
# anonymous users on, rate limits off, JSON request logs at info level on both. The
# report has the medians over rounds and the ratios ours ÷ upstream of req/s, p99, server
# CPU per request and PostgreSQL CPU per request, and both servers' RSS. It is printed
# and written to target/bench/compare.md; each run's figures stay in target/bench/*.json.
#
# Upstream is built locally with ../shared/tools/upstream/upstream.sh (see its README):
# set UPSTREAM_GIT_DIR to a clone or bare mirror of nhost/hasura-auth and it is built
# when its binary is missing. UPSTREAM_SH overrides where upstream.sh is.
# Environment as bench/run.sh (PGHOST, PGPORT, BENCH_PORT, SKIP_BUILD, WAIT_QUIET);
# UPSTREAM_PORT (4190) is upstream's port.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
ROUNDS=3
BENCH_ARGS=()
while [[ $# -gt 0 ]]; do
    case $1 in
        --rounds) ROUNDS=$2; shift ;;
        --) shift; BENCH_ARGS=("$@"); break ;;
        *) echo "usage: bench/compare.sh [--rounds N] [-- BENCH_OPTIONS]" >&2; exit 2 ;;
    esac
    shift
done

UPSTREAM_SH=${UPSTREAM_SH:-$ROOT/../shared/tools/upstream/upstream.sh}
UPSTREAM_BIN=${UPSTREAM_DIR:-$HOME/.cache/upstream-hasura-auth}/bin/hasura-auth
UPSTREAM_PORT=${UPSTREAM_PORT:-4190}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
WORK="$TARGET_DIR/bench"
BENCH="$TARGET_DIR/release/hasura-auth-bench"
mkdir -p "$WORK"

[[ -x $UPSTREAM_SH ]] || { echo "no upstream.sh at $UPSTREAM_SH (set UPSTREAM_SH)" >&2; exit 1; }
if [[ ! -x $UPSTREAM_BIN ]]; then
    [[ -n ${UPSTREAM_GIT_DIR:-} ]] || { echo "upstream is not built: set UPSTREAM_GIT_DIR to a copy of nhost/hasura-auth" >&2; exit 1; }
    "$UPSTREAM_SH" build "$UPSTREAM_GIT_DIR"
fi
if [[ -z ${SKIP_BUILD:-} ]]; then
    echo "==> building the server and the bench (release)" >&2
    cargo build --release --quiet -p hasura-auth -p hasura-auth-bench
fi

# The key and issuer upstream.sh gives upstream; ours gets the same.
JWT=$(sed -n "s/^JWT='\(.*\)'$/\1/p" "$UPSTREAM_SH")
[[ -n $JWT ]] || { echo "could not read the JWT secret from $UPSTREAM_SH" >&2; exit 1; }
SETTINGS=(AUTH_ANONYMOUS_USERS_ENABLED=true AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED=false AUTH_RATE_LIMIT_ENABLE=false)
# The same bench options for both; no transaction census (it does not change the figures
# compared here and costs a minute per run).
COMMON=(--runs 1 --census-requests 0 "${BENCH_ARGS[@]}")

trap '"$UPSTREAM_SH" stop "$UPSTREAM_PORT" >/dev/null 2>&1 || true' EXIT

run_upstream() {
    local round=$1 out db url pid
    db="bench_upstream_${round}_$$"
    out=$("$UPSTREAM_SH" start "$UPSTREAM_PORT" "$db" "${SETTINGS[@]}")
    pid=$(sed -n 's/^SERVER_PID=//p' <<<"$out")
    url=$(sed -n 's/^DATABASE_URL=//p' <<<"$out")
    echo "==> round $round: upstream (pid $pid)" >&2
    "$BENCH" --url "http://127.0.0.1:$UPSTREAM_PORT" --server-pid "$pid" --pg-url "$url" \
        --label "upstream round $round" --json "$WORK/upstream-$round.json" \
        "${COMMON[@]}" >"$WORK/upstream-$round.md"
    "$UPSTREAM_SH" stop "$UPSTREAM_PORT"
    psql -X -q -h "${PGHOST:-127.0.0.1}" -p "${PGPORT:-5432}" -U postgres -d postgres \
        -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
}

run_ours() {
    local round=$1
    echo "==> round $round: ours" >&2
    SKIP_BUILD=1 BENCH_JWT_SECRET="$JWT" SERVER_ENV="${SETTINGS[*]}" WAIT_QUIET= \
        "$ROOT/bench/run.sh" -- --label "ours round $round" --json "$WORK/ours-$round.json" \
        "${COMMON[@]}" >"$WORK/ours-$round.md"
}

if [[ -n ${WAIT_QUIET:-} ]]; then
    echo "==> waiting for the 1-minute load average to fall below $WAIT_QUIET" >&2
    for _ in $(seq 1 360); do
        awk -v t="$WAIT_QUIET" '{ exit !($1 < t) }' /proc/loadavg && break
        sleep 5
    done
fi
echo "==> load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

UP_FILES=()
OUR_FILES=()
for round in $(seq 1 "$ROUNDS"); do
    if (( round % 2 == 1 )); then
        run_upstream "$round"; run_ours "$round"
    else
        run_ours "$round"; run_upstream "$round"
    fi
    UP_FILES+=("$WORK/upstream-$round.json")
    OUR_FILES+=("$WORK/ours-$round.json")
done
echo "==> load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

{
    echo "Machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); $(date -u '+%Y-%m-%d %H:%M UTC')."
    echo "Command: bench/compare.sh --rounds $ROUNDS${BENCH_ARGS:+ -- ${BENCH_ARGS[*]}}"
    echo
    "$BENCH" --compare-upstream "${UP_FILES[@]}" --compare-ours "${OUR_FILES[@]}"
} | tee "$WORK/compare.md"
