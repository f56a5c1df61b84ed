#!/usr/bin/env bash
# `make run`: migrate the embedded SQLite database and serve on http://127.0.0.1:8080.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p data
./build/custos migrate --database "${CUSTOS_DATABASE:-sqlite://./data/custos.db}"
echo "serving http://127.0.0.1:8080 (Ctrl-C to stop)"
exec ./build/custos serve --listen "${CUSTOS_LISTEN:-127.0.0.1:8080}" \
  --database "${CUSTOS_DATABASE:-sqlite://./data/custos.db}"
