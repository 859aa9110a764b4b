#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test, closing with ctest's summary.
# BAKREST_SANITIZE=1 builds with ASan+UBSan into build-asan/ instead.
# The libFuzzer targets (tests/fuzz/) are built by clang into build-fuzz/, and ctest runs each of them on its
# committed corpus and then fuzzes it for BAKREST_FUZZ_SECONDS (default 6); BAKREST_FUZZ=0 leaves them out.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh --test
build_dir=build
flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [[ "${BAKREST_SANITIZE:-0}" == 1 ]]; then
  build_dir=build-asan
  flags=(-DCMAKE_BUILD_TYPE=Debug -DBAKREST_SANITIZE=ON)
fi
fuzz_build_dir=""
if [[ "${BAKREST_FUZZ:-1}" != 0 ]]; then
  fuzz_build_dir="$PWD/build-fuzz"
  cmake -S . -B "$fuzz_build_dir" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DBAKREST_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$fuzz_build_dir" -j"$(nproc)"
fi
flags+=(-DBAKREST_FUZZ_BUILD_DIR="$fuzz_build_dir" -DBAKREST_FUZZ_SECONDS="${BAKREST_FUZZ_SECONDS:-6}")
cmake -S . -B "$build_dir" "${flags[@]}" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
cd "$build_dir"
ctest --output-on-failure -j2 "$@"
