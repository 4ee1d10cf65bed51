#!/usr/bin/env bash
# The whole benchmark on this machine, in one command:
#
#   bench/run.sh                 # HS256, every scenario, median of 3 runs
#   bench/run.sh --rs256         # RS256 (a fresh 2048-bit key pair)
#   bench/run.sh --es256         # ES256 (a fresh P-256 key pair)
#   bench/run.sh --ed25519       # Ed25519 / EdDSA (a fresh key pair)
#   bench/run.sh -- --runs 1 --duration 5 --scenarios token,user   # bench options
#   bench/run.sh --pgbouncer     # the server's pool through PgBouncer in transaction mode
#                                # (AUTH_POSTGRES_TRANSACTION_POOLER=true; Debian's pgbouncer)
#
# Builds the server and the bench in release mode, creates a fresh database on the
# PostgreSQL at $PGHOST:$PGPORT (user postgres, trust), starts the server on it, waits
# for /healthz, runs the benchmark, stops the server, drops the database and prints the
# Markdown table (also written to target/bench/report-<alg>.md).
#
# Environment: PGHOST (127.0.0.1), PGPORT (5432), PGUSER (postgres), BENCH_PORT (4000),
# KEEP_DB=1 keeps the database, SKIP_BUILD=1 uses the binaries already built,
# BENCH_JWT_SECRET replaces the HS256 key (bench/compare.sh gives both servers the same one),
# SERVER_ENV="RUST_LOG=warn …" adds (space-separated) variables to the server's environment,
# WAIT_QUIET=1.0 first waits (up to 30 min) for the 1-minute load average to fall below
# 1.0: the figures mean little while something else loads the machine.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

ALG=HS256
PGBOUNCER=
BENCH_ARGS=()
while [[ $# -gt 0 ]]; do
    case $1 in
        --rs256) ALG=RS256 ;;
        --hs256) ALG=HS256 ;;
        --es256) ALG=ES256 ;;
        --ed25519) ALG=Ed25519 ;;
        --pgbouncer) PGBOUNCER=1 ;;
        --) shift; BENCH_ARGS=("$@"); break ;;
        *) echo "usage: bench/run.sh [--hs256|--rs256|--es256|--ed25519] [--pgbouncer] [-- BENCH_OPTIONS]" >&2; exit 2 ;;
    esac
    shift
done

PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
PGUSER=${PGUSER:-postgres}
PORT=${BENCH_PORT:-4000}
DB="hasura_auth_bench_$(date +%s)_$$"
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
WORK="$TARGET_DIR/bench"
mkdir -p "$WORK"
LABEL=$ALG${PGBOUNCER:+ via PgBouncer}
SUFFIX=$ALG${PGBOUNCER:+-pgbouncer}
LOG="$WORK/server-$SUFFIX.log"
REPORT="$WORK/report-$SUFFIX.md"

if [[ -z ${SKIP_BUILD:-} ]]; then
    echo "==> building the server and the bench (release)" >&2
    cargo build --release --quiet -p hasura-auth -p hasura-auth-bench
fi
SERVER="$TARGET_DIR/release/hasura-auth"
BENCH="$TARGET_DIR/release/hasura-auth-bench"

psql_admin() { psql -X -q -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres -v ON_ERROR_STOP=1 "$@"; }

if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    echo "port $PORT is in use; set BENCH_PORT" >&2
    exit 1
fi

SERVER_PID=
BOUNCER_PID=
cleanup() {
    if [[ -n $BOUNCER_PID ]] && kill -0 "$BOUNCER_PID" 2>/dev/null; then
        kill -TERM "$BOUNCER_PID"
        wait "$BOUNCER_PID" 2>/dev/null || true
    fi
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID"
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ -z ${KEEP_DB:-} ]]; then
        psql_admin -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 || true
    else
        echo "database kept: $DB" >&2
    fi
}
trap cleanup EXIT

echo "==> fresh database $DB on $PGHOST:$PGPORT" >&2
psql_admin -c "CREATE DATABASE \"$DB\""

if [[ $ALG != HS256 ]]; then
    case $ALG in
        RS256) GENPKEY=(-algorithm RSA -pkeyopt rsa_keygen_bits:2048) ;;
        ES256) GENPKEY=(-algorithm EC -pkeyopt ec_paramgen_curve:P-256) ;;
        Ed25519) GENPKEY=(-algorithm ed25519) ;;
    esac
    # PKCS#8 private key and SubjectPublicKeyInfo public key: the PEM forms the server reads.
    openssl genpkey "${GENPKEY[@]}" -out "$WORK/jwt-private.pem" 2>/dev/null
    openssl pkey -in "$WORK/jwt-private.pem" -pubout -out "$WORK/jwt-public.pem"
    JWT_SECRET=$(python3 -c 'import json,sys; print(json.dumps({"type":sys.argv[3],"key":open(sys.argv[1]).read(),"signing_key":open(sys.argv[2]).read()}))' \
        "$WORK/jwt-public.pem" "$WORK/jwt-private.pem" "$ALG")
else
    JWT_SECRET=${BENCH_JWT_SECRET:-'{"type":"HS256","key":"bench-hs256-secret-0123456789abcdef0123456789abcdef"}'}
fi

if [[ -n ${WAIT_QUIET:-} ]]; then
    echo "==> waiting for the 1-minute load average to fall below $WAIT_QUIET" >&2
    for _ in $(seq 1 360); do
        if awk -v t="$WAIT_QUIET" '{ exit !($1 < t) }' /proc/loadavg; then
            break
        fi
        sleep 5
    done
    echo "    load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
fi

DB_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$DB?sslmode=disable"
POOL_ENV=()
if [[ -n $PGBOUNCER ]]; then
    # Transaction mode, as managed platforms run it; 20 server connections (the server's
    # pool is 4 per CPU); PgBouncer refuses to run as root, hence -u postgres.
    BOUNCER_DIR="$WORK/pgbouncer"
    BOUNCER_PORT=${BENCH_PGBOUNCER_PORT:-6432}
    mkdir -p "$BOUNCER_DIR"
    printf '"%s" ""\n' "$PGUSER" >"$BOUNCER_DIR/users.txt"
    cat >"$BOUNCER_DIR/pgbouncer.ini" <<INI
[databases]
* = host=$PGHOST port=$PGPORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $BOUNCER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $BOUNCER_DIR/users.txt
pool_mode = transaction
default_pool_size = 20
max_client_conn = 1000
logfile = $BOUNCER_DIR/pgbouncer.log
INI
    BOUNCER_USER=()
    if [[ $(id -u) -eq 0 ]]; then
        chown -R postgres "$BOUNCER_DIR"
        BOUNCER_USER=(-u postgres)
    fi
    pgbouncer "${BOUNCER_USER[@]}" "$BOUNCER_DIR/pgbouncer.ini" &
    BOUNCER_PID=$!
    for _ in $(seq 1 50); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$BOUNCER_PORT") 2>/dev/null; then break; fi
        sleep 0.1
    done
    echo "==> PgBouncer (transaction mode) on 127.0.0.1:$BOUNCER_PORT" >&2
    POOL_ENV=(
        POSTGRES_CONNECTION="postgres://$PGUSER@127.0.0.1:$BOUNCER_PORT/$DB?sslmode=disable"
        POSTGRES_MIGRATIONS_CONNECTION="$DB_URL"
        AUTH_POSTGRES_TRANSACTION_POOLER=true
    )
fi
echo "==> starting the server on port $PORT ($ALG), log: $LOG" >&2
# The exact server environment the benchmark needs (see docs/PERFORMANCE.md).
env \
    POSTGRES_CONNECTION="$DB_URL" \
    HASURA_GRAPHQL_JWT_SECRET="$JWT_SECRET" \
    AUTH_PORT="$PORT" \
    AUTH_SERVER_URL="http://127.0.0.1:$PORT" \
    AUTH_CLIENT_URL="http://localhost:3000" \
    AUTH_EMAIL_SIGNIN_EMAIL_VERIFIED_REQUIRED=false \
    AUTH_ANONYMOUS_USERS_ENABLED=true \
    AUTH_RATE_LIMIT_ENABLE=false \
    "${POOL_ENV[@]}" \
    ${SERVER_ENV:-} \
    "$SERVER" >"$LOG" 2>&1 &
SERVER_PID=$!

for _ in $(seq 1 300); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "the server exited; its log:" >&2
        tail -n 30 "$LOG" >&2
        exit 1
    fi
    if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null; then
        break
    fi
    sleep 0.1
done
curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz"

echo "==> benchmark (server pid $SERVER_PID)" >&2
"$BENCH" \
    --url "http://127.0.0.1:$PORT" \
    --server-pid "$SERVER_PID" \
    --pg-url "$DB_URL" \
    --runs 3 \
    --label "$LABEL" \
    --output "$REPORT" \
    "${BENCH_ARGS[@]}"
echo "==> report written to $REPORT" >&2
