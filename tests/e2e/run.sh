#!/usr/bin/env bash
# Browser tests of the console: builds web/dist when its sources changed, then runs the
# Playwright suite (tests/e2e/*.test.mjs) against its own `custos serve` (see console.test.mjs).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash web/build.sh
exec node --test --test-reporter=spec --test-concurrency=1 tests/e2e/
