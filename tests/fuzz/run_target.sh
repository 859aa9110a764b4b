#!/usr/bin/env bash
# Runs one libFuzzer target on its committed corpus: every input there (seeds and regression inputs) is run
# first, then the target fuzzes for the given seconds. The committed corpus is only read: new inputs go to
# WORK_DIR/new and a crashing input to WORK_DIR/artifacts/. Exits non-zero on any finding (crash, sanitizer
# report, leak, timeout of one input, out of memory).
#
# usage: run_target.sh BINARY CORPUS_DIR SECONDS WORK_DIR [DICTIONARY]
set -euo pipefail
if (($# < 4)); then
  echo "usage: $0 BINARY CORPUS_DIR SECONDS WORK_DIR [DICTIONARY]" >&2
  exit 2
fi
binary=$1 corpus=$2 seconds=$3 work=$4 dict=${5:-}
if [[ ! -x "$binary" ]]; then
  echo "$binary is not built: build the fuzzing build (BAKREST_FUZZ=ON, see tests/fuzz/README.md)" >&2
  exit 2
fi
rm -rf "$work"
mkdir -p "$work/new" "$work/artifacts"
args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
  -artifact_prefix="$work/artifacts/")
[[ -n "$dict" ]] && args+=(-dict="$dict")
# Targets that read files write them to a scratch directory under TMPDIR; memory makes their fsyncs cheap.
[[ -z "${TMPDIR:-}" && -d /dev/shm && -w /dev/shm ]] && export TMPDIR=/dev/shm
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
exec "$binary" "${args[@]}" "$work/new" "$corpus"
