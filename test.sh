#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test, closing with ctest's summary.
# BAKREST_SANITIZE=1 builds with ASan+UBSan into build-asan/ instead.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh --test
build_dir=build
flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [[ "${BAKREST_SANITIZE:-0}" == 1 ]]; then
  build_dir=build-asan
  flags=(-DCMAKE_BUILD_TYPE=Debug -DBAKREST_SANITIZE=ON)
fi
cmake -S . -B "$build_dir" "${flags[@]}" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
cd "$build_dir"
ctest --output-on-failure -j2 "$@"
