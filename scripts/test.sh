#!/usr/bin/env bash
# `make test`: everything, from a clean clone. Builds the release tree, starts a throwaway
# PostgreSQL 15 cluster, runs the unit and black-box suites on SQLite and PostgreSQL, the
# console's browser tests (Chromium), then the ASan/UBSan build of the same suites, then a
# bounded libFuzzer run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=$(nproc)
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
passed=0
failed=0
step() { printf '\n==> %s\n' "$*"; }
record() { if [ "$1" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi; }

step "build (release)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$JOBS"

PGDIR=$(mktemp -d /tmp/custos-pg.XXXXXX)
cleanup() { bash scripts/pg-temp.sh stop "$PGDIR" >/dev/null 2>&1 || true; rm -rf "$PGDIR"; }
trap cleanup EXIT
step "start a throwaway PostgreSQL 15"
export TEST_PG_URL=$(bash scripts/pg-temp.sh start "$PGDIR")
export TEST_PG_DIR=$PGDIR
echo "PostgreSQL at $TEST_PG_URL"

step "unit and API tests (SQLite and PostgreSQL)"
set +e
ctest --test-dir build --output-on-failure
rc=$?
set -e
record $rc

step "browser tests (Chromium)"
set +e
CUSTOS_BIN="$ROOT/build/custos" bash tests/e2e/run.sh
rc=$?
set -e
record $rc

step "build (ASan + UBSan)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCUSTOS_SANITIZE=ON -DCUSTOS_BENCH=OFF >/dev/null
cmake --build build-asan -j "$JOBS"
step "unit and API tests under ASan + UBSan"
set +e
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  CUSTOS_SANITIZED=1 ctest --test-dir build-asan --output-on-failure
rc=$?
set -e
record $rc

step "fuzz (libFuzzer: HTTP ${FUZZ_SECONDS}s, spreadsheets $((FUZZ_SECONDS / 2))s, audit anchors 15s, agent inventories 20s)"
CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCUSTOS_FUZZ=ON -DCUSTOS_TESTS=OFF -DCUSTOS_BENCH=OFF >/dev/null
cmake --build build-fuzz -j "$JOBS" --target fuzz_http fuzz_tabular fuzz_audit fuzz_inventory
fuzz() {  # target seconds corpus
  local scratch rc
  scratch=$(mktemp -d /tmp/custos-fuzz.XXXXXX)
  set +e
  "./build-fuzz/$1" -max_total_time="$2" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    "$scratch" "$3" 2>&1 | tail -n 6
  rc=${PIPESTATUS[0]}
  set -e
  rm -rf "$scratch"
  record "$rc"
}
fuzz fuzz_http "$FUZZ_SECONDS" fuzz/corpus
fuzz fuzz_tabular "$((FUZZ_SECONDS / 2))" fuzz/corpus_tabular
fuzz fuzz_audit 15 fuzz/corpus_audit
fuzz fuzz_inventory 20 fuzz/corpus_inventory

echo
echo "suites: $passed passed, $failed failed"
[ "$failed" = 0 ]
