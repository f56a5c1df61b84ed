#!/usr/bin/env bash
# `make run`: migrate the embedded SQLite database and serve on http://127.0.0.1:8080.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p data
# The console: rebuilt when its sources are newer than web/dist.
bash web/build.sh
DB="${CUSTOS_DATABASE:-sqlite://./data/custos.db}"
./build/custos migrate --database "$DB"
# First run: create the three administrators and show their one-time passwords (kept in
# data/initial-admins.txt, readable by root only, until the first logins change them).
if [ ! -f data/initial-admins.txt ]; then
  umask 077
  if ./build/custos admin init --database "$DB" > data/initial-admins.txt 2>/dev/null; then
    cat data/initial-admins.txt
  else
    echo "administrators exist already" > data/initial-admins.txt
  fi
fi
# First run: demo data (an organisation with staff, 400 customers, 2,000 service requests); the
# staff's shared password is kept in data/demo-users.txt, readable by root only.
if [ ! -f data/demo-users.txt ]; then
  umask 077
  ./build/custos demo --database "$DB" --scale "${CUSTOS_DEMO_SCALE:-2000}" > data/demo-users.txt
  cat data/demo-users.txt
fi
echo "serving http://127.0.0.1:8080 (Ctrl-C to stop)"
exec ./build/custos serve --listen "${CUSTOS_LISTEN:-127.0.0.1:8080}" \
  --database "$DB"
