#!/usr/bin/env bash
# Where the server's CPU goes per request, in instructions (issue 17's breakdown):
#
#   bench/callgrind.sh token            # POST /token
#   bench/callgrind.sh user 100 600     # GET /user, runs of 100 and 600 requests
#
# Runs the release server under `valgrind --tool=callgrind` twice, each time on a fresh
# database with the benchmark's settings (bench/run.sh), and drives it with the bench
# at 4 connections, no warm-up, a fixed number of requests: SHORT (200) in the first
# run, LONG (1200) in the second. Start-up and set-up are the same in both runs, so
# (second − first) ÷ (LONG − SHORT) is the cost of one request, overall and for each
# function (inclusive). Instruction counts do not depend on what else the machine does,
# unlike CPU seconds, so this can run beside other work. Writes
# target/bench/callgrind-<scenario>.md; the raw outputs stay in target/bench/.
#
# Environment: as bench/run.sh (PGHOST, PGPORT, BENCH_PORT, SKIP_BUILD, SERVER_ENV);
# TOP (40) is how many functions the table lists.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
SCENARIO=${1:?usage: bench/callgrind.sh SCENARIO [SHORT LONG]}
SHORT=${2:-200}
LONG=${3:-1200}
TOP=${TOP:-40}
PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
PGUSER=${PGUSER:-postgres}
PORT=${BENCH_PORT:-4000}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
WORK="$TARGET_DIR/bench"
SERVER="$TARGET_DIR/release/hasura-auth"
BENCH="$TARGET_DIR/release/hasura-auth-bench"
mkdir -p "$WORK"
command -v valgrind >/dev/null || { echo "valgrind is missing (Debian's valgrind)" >&2; exit 1; }

if [[ -z ${SKIP_BUILD:-} ]]; then
    echo "==> building the server and the bench (release, with symbols)" >&2
    CARGO_PROFILE_RELEASE_DEBUG=line-tables-only cargo build --release --quiet -p hasura-auth -p hasura-auth-bench
fi

psql_admin() { psql -X -q -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres -v ON_ERROR_STOP=1 "$@"; }

SERVER_PID=
DB=
cleanup() {
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID"
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    [[ -z $DB ]] || psql_admin -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# measure REQUESTS OUT: one run under callgrind; the profile is written to OUT.
measure() {
    local requests=$1 out=$2
    DB="hasura_auth_callgrind_$(date +%s)_$$"
    psql_admin -c "CREATE DATABASE \"$DB\""
    local url="postgres://$PGUSER@$PGHOST:$PGPORT/$DB?sslmode=disable"
    env \
        POSTGRES_CONNECTION="$url" \
        HASURA_GRAPHQL_JWT_SECRET='{"type":"HS256","key":"bench-hs256-secret-0123456789abcdef0123456789abcdef"}' \
        AUTH_PORT="$PORT" \
        AUTH_SERVER_URL="http://127.0.0.1:$PORT" \
        AUTH_CLIENT_URL="http://localhost:3000" \
        AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED=false \
        AUTH_ANONYMOUS_USERS_ENABLED=true \
        AUTH_RATE_LIMIT_ENABLE=false \
        ${SERVER_ENV:-} \
        valgrind --tool=callgrind --callgrind-out-file="$out" "$SERVER" \
        >"$WORK/callgrind-server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 600); do
        kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 30 "$WORK/callgrind-server.log" >&2; exit 1; }
        curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null && break
        sleep 0.2
    done
    "$BENCH" --url "http://127.0.0.1:$PORT" --concurrency 4 --warmup 0 --requests "$requests" \
        --runs 1 --scenarios "$SCENARIO" --users 6 --token-pool 64 >/dev/null
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
    psql_admin -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null
    DB=
}

echo "==> $SCENARIO: $SHORT requests under callgrind" >&2
measure "$SHORT" "$WORK/callgrind-$SCENARIO-short.out"
echo "==> $SCENARIO: $LONG requests under callgrind" >&2
measure "$LONG" "$WORK/callgrind-$SCENARIO-long.out"

REPORT="$WORK/callgrind-$SCENARIO.md"
python3 - "$WORK/callgrind-$SCENARIO-short.out" "$WORK/callgrind-$SCENARIO-long.out" \
    "$SHORT" "$LONG" "$SCENARIO" "$TOP" >"$REPORT" <<'PY'
import re, subprocess, sys

short_out, long_out, short_n, long_n, scenario, top = sys.argv[1:]
per = int(long_n) - int(short_n)

def counts(path, inclusive):
    """Instruction counts per function (inclusive or self), from callgrind_annotate."""
    text = subprocess.run(
        ["callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}",
         "--threshold=100", path],
        check=True, capture_output=True, text=True).stdout
    total = int(re.search(r"^([\d,]+).*PROGRAM TOTALS", text, re.M).group(1).replace(",", ""))
    funcs = {}
    for m in re.finditer(r"^\s*([\d,]+) \([^)]*\)\s+(\S.*?)\s*$", text, re.M):
        name = m.group(2)
        if name.endswith("PROGRAM TOTALS") or re.search(r"'\d+$", name):
            continue  # recursion cycles are counted once per level: meaningless sums
        name = re.sub(r"^[^ :]*:(?!:)", "", name)  # the object file
        name = re.sub(r" \[[^\]]*\]$", "", name)
        funcs[name] = funcs.get(name, 0) + int(m.group(1).replace(",", ""))
    return total, funcs

def table(title, inclusive):
    t1, f1 = counts(short_out, inclusive)
    t2, f2 = counts(long_out, inclusive)
    print(f"\n## {title}\n")
    print("| instructions/request | share | function |\n|---:|---:|---|")
    diff = sorted(((f2.get(k, 0) - f1.get(k, 0), k) for k in f2), reverse=True)
    for d, name in diff[: int(top)]:
        if d <= 0:
            break
        short = name if len(name) <= 140 else name[:137] + "..."
        print(f"| {d / per:,.0f} | {100 * d / (t2 - t1):.1f}% | `{short}` |")
    return t2 - t1

t1, _ = counts(short_out, False)
t2, _ = counts(long_out, False)
print(f"# callgrind: {scenario}, instructions per request\n")
print(f"({long_n} − {short_n} requests, 4 connections, release build)\n")
print(f"**Total: {(t2 - t1) / per:,.0f} instructions per request**")
table("Self cost (the function's own instructions)", False)
table("Inclusive cost (with callees; nested functions overlap)", True)
PY
cat "$REPORT"
echo "==> written to $REPORT" >&2
