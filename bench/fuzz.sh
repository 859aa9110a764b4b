#!/usr/bin/env bash
# Runs every libFuzzer target of tests/fuzz/ (or the ones named) for SECONDS each (default 60), one after the
# other, and prints per target the executions, executions per second, the new corpus entries and any finding.
# A target stops at its first finding; the crashing input is kept in the scratch directory and its report in
# the target's log there.
#
# New corpus entries go to a scratch directory (BAKREST_FUZZ_SCRATCH, default build-fuzz/fuzz-scratch/), never
# into the committed corpus, unless BAKREST_FUZZ_MERGE=1: then the new entries that add coverage are merged
# (minimised by libFuzzer's -merge=1) into tests/fuzz/corpus/<target>/.
#
# usage: bench/fuzz.sh [SECONDS] [TARGET...]     e.g. bench/fuzz.sh 600 rpc tsql
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
build=build-fuzz
scratch=${BAKREST_FUZZ_SCRATCH:-$build/fuzz-scratch}

cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DBAKREST_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 >/dev/null

targets=("$@")
if ((${#targets[@]} == 0)); then
  for source in tests/fuzz/*_fuzz.cc; do
    name=$(basename "$source" _fuzz.cc)
    targets+=("$name")
  done
fi

# Targets that read files write them to a scratch directory under TMPDIR; memory makes their fsyncs cheap.
[[ -z "${TMPDIR:-}" && -d /dev/shm && -w /dev/shm ]] && export TMPDIR=/dev/shm
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
printf '%-14s %8s %12s %9s %6s  %s\n' target seconds executions exec/s new finding
found=0
for name in "${targets[@]}"; do
  binary=$build/tests/fuzz/${name}_fuzz
  corpus=tests/fuzz/corpus/$name
  work=$scratch/$name
  mkdir -p "$work/new" "$work/artifacts"
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
    -artifact_prefix="$work/artifacts/")
  [[ -f tests/fuzz/$name.dict ]] && args+=(-dict="tests/fuzz/$name.dict")
  before=$(find "$work/new" -type f | wc -l)
  start=$(date +%s)
  status=0
  "$binary" "${args[@]}" "$work/new" "$corpus" >"$work/log" 2>&1 || status=$?
  elapsed=$(($(date +%s) - start))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -1)
  added=$(($(find "$work/new" -type f | wc -l) - before))
  finding="-"
  if ((status != 0)); then
    found=1
    artifact=$(sed -n 's/.*Test unit written to //p' "$work/log" | tail -1)
    summary=$(grep -m1 -E '^SUMMARY|invariant broken|ERROR: libFuzzer' "$work/log" || true)
    finding="${summary:-exit status $status} -> ${artifact:-see $work/log}"
  fi
  printf '%-14s %8s %12s %9s %6s  %s\n' "$name" "$elapsed" "${runs:-?}" "${rate:-?}" "$added" "$finding"
  if [[ "${BAKREST_FUZZ_MERGE:-0}" == 1 && -n "$(ls -A "$work/new")" ]]; then
    "$binary" -merge=1 "$corpus" "$work/new" >"$work/merge.log" 2>&1
    echo "  merged into $corpus: $(ls "$corpus" | wc -l) files"
  fi
done
echo "scratch: $scratch (new entries in <target>/new, findings in <target>/artifacts, logs in <target>/log)"
exit $found
