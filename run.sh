#!/usr/bin/env bash
# Installs what is missing, builds, and starts a bakrest instance on embedded defaults.
# Data lives in ./data (override with BAKREST_DATA); the port is 1433 (override with BAKREST_PORT).
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target bakrest -j"$(nproc)"
exec build/bakrest serve --data "${BAKREST_DATA:-data}" --port "${BAKREST_PORT:-1433}" "$@"
