#!/bin/sh
# The fault suite, long form (docs/RELIABILITY.md): the release build, longer loads and
# more fuzz cases (FAULTS_LONG=1), one fault at a time; the figure lines are collected in
# target/faults-report.txt. Extra arguments go to the test harness (e.g. a test name).
# Replay a fuzz run with FAULTS_SEED=<seed>. The short form runs in `cargo test`.
set -eu
cd "$(dirname "$0")/.."
report="$PWD/target/faults-report.txt"
mkdir -p target
: > "$report"
FAULTS_LONG=1 FAULTS_REPORT="$report" \
    cargo test --release --test faults -- --test-threads=1 "$@"
echo "--- figures ($report)"
cat "$report"
