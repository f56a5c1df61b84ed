#!/usr/bin/env bash
# Installs what the build, the tests and `make run` need on Debian 12. Idempotent: it
# only calls apt-get when a package is missing. Run as root (or with sudo available).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev libpq-dev postgresql-15
  libspdlog-dev libfmt-dev libtomlplusplus-dev libcli11-dev
  libsodium-dev libssl-dev openssl
  libxlsxwriter-dev libminizip-dev libexpat1-dev zlib1g-dev libcurl4-openssl-dev libqrencode-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev
  python3 python3-pytest python3-aiosmtpd
  wrk curl
  fusioninventory-agent
  zbar-tools librsvg2-bin
  fonts-noto-cjk
)
# fusioninventory-agent: the real inventory agent the API tests run against the server (#7);
# zbar-tools and librsvg2-bin: the label test renders an asset label and reads its QR code back.
# The console's browser tests drive Debian's Chromium (never a downloaded browser); the CJK font
# makes Chinese render in it (and in the screenshots).
command -v chromium >/dev/null 2>&1 || APT_PACKAGES+=(chromium)
# Node.js and npm build the console (web/); only installed when the machine has none.
command -v node >/dev/null 2>&1 || APT_PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(npm)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The console's npm packages (web/package-lock.json), when missing or older than the lockfile.
if [ ! -d web/node_modules ] || [ web/package-lock.json -nt web/node_modules ]; then
  echo "setup: npm ci in web/"
  (cd web && npm ci --no-audit --no-fund && touch node_modules)
fi
