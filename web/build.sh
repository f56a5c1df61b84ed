#!/usr/bin/env bash
# Builds the console into web/dist when anything it is built from is newer than the last build
# (npm ci first when node_modules is missing or older than package-lock.json).
# FORCE=1 rebuilds anyway.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm ci --no-audit --no-fund
  touch node_modules
fi
stamp=dist/index.html
if [ "${FORCE:-0}" != 1 ] && [ -f "$stamp" ] && \
   [ -z "$(find src public index.html vite.config.js package.json package-lock.json scripts -newer "$stamp" -print -quit)" ]; then
  echo "web: dist is up to date"
  exit 0
fi
npm run build
