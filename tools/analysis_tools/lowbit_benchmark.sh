#!/usr/bin/env bash
# Low-bit speed and memory (docs/benchmark.md, "Low-bit and offload"):
#   1. the benchmark's small preset: bf16, int8, nf4 (load, peak RSS,
#      decode tokens/s against the bf16 bandwidth bound, tokens vs bf16);
#   2. a random real-size LLaVA-1.5 13B (~26 GB file, written once and
#      deleted afterwards unless KEEP_13B=1) captioning one image in int8.
# Every step has its own timeout; nothing runs in the background.
#
#   bash tools/analysis_tools/lowbit_benchmark.sh            # both steps
#   bash tools/analysis_tools/lowbit_benchmark.sh smoke      # tiny preset
#   SKIP_13B=1 bash tools/analysis_tools/lowbit_benchmark.sh # step 1 only
#
# Results: $OUT_DIR (default work_dirs/lowbit)/*.json, logs beside them.
set -u
cd "$(dirname "$0")/../.."
MODE="${1:-full}"
OUT_DIR="${OUT_DIR:-work_dirs/lowbit}"
WORK_13B="${WORK_13B:-work_dirs/bench_13b}"
THREADS="${THREADS:-2}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$OUT_DIR"
STATUS="$OUT_DIR/status.txt"
: > "$STATUS"

step() {  # step NAME SECONDS CMD...: run with a timeout, log, record rc
    local name=$1 limit=$2
    shift 2
    echo "== $name ($(date -u +%H:%M:%S), limit ${limit}s): $*"
    timeout --kill-after=30 "$limit" "$@" > "$OUT_DIR/$name.log" 2>&1
    local rc=$?
    echo "$name rc=$rc" | tee -a "$STATUS"
    tail -n 12 "$OUT_DIR/$name.log"
}

{ date -u; uptime; free -g; } > "$OUT_DIR/machine_before.txt"

if [ "$MODE" = smoke ]; then
    step tiny_lowbit 900 python tools/analysis_tools/benchmark.py \
        --preset tiny --quantization int8 nf4 --threads "$THREADS" \
        --new-tokens 8 --work-dir "$OUT_DIR/bench_tiny" \
        --out "$OUT_DIR/tiny_lowbit.json"
    exit 0
fi

step small_lowbit 2400 python tools/analysis_tools/benchmark.py \
    --preset small --quantization int8 nf4 --threads "$THREADS" \
    --new-tokens 32 --out "$OUT_DIR/small_lowbit.json"

if [ "${SKIP_13B:-0}" = 1 ]; then
    exit 0
fi
# int8 13B: ~14 GB resident; the bf16 file needs ~27 GB of disk.
avail_gb=$(awk '/MemAvailable/ {print int($2 / 1048576)}' /proc/meminfo)
disk_gb=$(df -Pk . | awk 'NR == 2 {print int($4 / 1048576)}')
if [ "$avail_gb" -lt 17 ] || [ "$disk_gb" -lt 30 ]; then
    echo "13b_int8 skipped: ${avail_gb} GiB RAM available (17 needed), " \
        "${disk_gb} GiB disk free (30 needed)" | tee -a "$STATUS"
    exit 0
fi
step 13b_int8 5400 python tools/analysis_tools/benchmark.py \
    --preset 13b --quantization int8 --threads "$THREADS" \
    --new-tokens 16 --work-dir "$WORK_13B" --out "$OUT_DIR/13b_int8.json"
if [ "${KEEP_13B:-0}" != 1 ]; then
    rm -f "$WORK_13B/llava-13b_random_bf16.pth"
fi
{ date -u; uptime; free -g; } > "$OUT_DIR/machine_after.txt"
