#!/usr/bin/env bash
# Installs what bakrest needs to build and test, and nothing else: Debian packages that are missing and,
# with --test, the npm packages locked in package-lock.json. Idempotent and quiet when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

build_packages=(build-essential cmake pkg-config libsqlite3-dev libzstd-dev libssl-dev nlohmann-json3-dev
  libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev libxxhash-dev libcurl4-openssl-dev libpugixml-dev libcpp-httplib-dev libgtest-dev
  libgmock-dev)
# clang builds the fuzz targets; libFuzzer and the sanitizer runtimes are in libclang-rt-14-dev (only recommended
# by clang, so named here); llvm brings llvm-symbolizer, which turns sanitizer reports into file:line stacks.
test_packages=(freetds-bin tdsodbc unixodbc python3-pymssql python3-tds python3-openssl openssl python3-pyodbc python3-sqlalchemy libjtds-java default-jdk-headless libdbd-sybase-perl awscli python3-boto3
  sqlite3 nodejs npm clang-format clang libclang-rt-14-dev llvm)

want=("${build_packages[@]}")
if [[ "${1:-}" == "--test" ]]; then want+=("${test_packages[@]}"); fi

missing=()
for p in "${want[@]}"; do
  # A tool that is already on PATH (node and npm often come from outside Debian) needs no package.
  case "$p" in
    nodejs) command -v node >/dev/null && continue ;;
    npm) command -v npm >/dev/null && continue ;;
    clang-format) command -v clang-format >/dev/null && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ "${1:-}" == "--test" ]]; then
  if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules ]]; then
    echo "setup: installing npm packages from package-lock.json"
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
  fi
fi
