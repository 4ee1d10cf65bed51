#!/usr/bin/env bash
# The multi-instance test bed (issue 15) in one command: three release-built server
# instances started together on an empty database, HAProxy round-robin in front
# (X-Forwarded-For trusted through AUTH_TRUSTED_PROXIES), one PostgreSQL, rate limits
# shared in Redis; every multi-request flow with consecutive steps on different instances.
#
#   scale/run.sh            long form: 10 rounds, rounds after the first run 4 users at once
#   scale/run.sh 3          3 rounds
#   SCALE_PROFILE=dev scale/run.sh 1    the short form CI runs (`cargo test --test scale`)
#
# Needs Debian's haproxy, a Redis at REDIS_URL (default redis://127.0.0.1:6379) and
# PostgreSQL as for the other tests (tests/support/db.rs). Loopback only; every process
# it starts is stopped when the test ends. Bounded: the test fails after SCALE_TIMEOUT
# seconds (default 900).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

rounds=${1:-${SCALE_ROUNDS:-10}}
profile=${SCALE_PROFILE:-release}
limit=${SCALE_TIMEOUT:-900}

if ! command -v haproxy >/dev/null; then
    echo "haproxy not found: install Debian's haproxy (.ci/run does)" >&2
    exit 1
fi
if ! redis-cli -u "${REDIS_URL:-redis://127.0.0.1:6379}" ping >/dev/null 2>&1; then
    echo "no Redis answers at ${REDIS_URL:-redis://127.0.0.1:6379}" >&2
    exit 1
fi

export CARGO_INCREMENTAL=0
echo "==> building (${profile}) and running ${rounds} round(s)"
start=$SECONDS
SCALE_ROUNDS="${rounds}" CI=true timeout "${limit}" \
    cargo test --profile "${profile}" --test scale -- --nocapture
echo "==> scale test bed: ok in $((SECONDS - start))s"
