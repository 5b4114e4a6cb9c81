#!/usr/bin/env bash
# The measurements of docs/benchmark.md, in one go, on a quiet machine.
#
#   bash tools/analysis_tools/speed_report.sh [OUT_DIR]   (default work_dirs/speed)
#
# Every step has its own time limit and writes JSON under OUT_DIR; a step
# that fails or runs out of time is recorded in OUT_DIR/steps.txt and the
# next one runs. At the end speed_table.py prints the rows for the docs.
# Needs ~16 GB of free disk for the random 7B checkpoint (written once,
# reused from work_dirs/bench) and ~20 GB of free memory.
set -u
cd "$(dirname "$0")/../.."
OUT=${1:-work_dirs/speed}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY=${PYTHON:-python}
: > "$OUT/steps.txt"

step() {  # step NAME SECONDS CMD...
  local name=$1 limit=$2; shift 2
  echo "== $name ($(date -u +%H:%M:%S), limit ${limit}s): $*"
  local start=$SECONDS
  timeout --kill-after=30 "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  echo "$name rc=$rc seconds=$((SECONDS - start)) loadavg=$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$OUT/steps.txt"
  tail -n 25 "$OUT/$name.log"
}

step ab 900 $PY tools/analysis_tools/speedup_ab.py --threads 1 2 --rounds 7 \
  --out "$OUT/ab.json"
step small 3000 $PY tools/analysis_tools/benchmark.py --preset small \
  --rounds 3 --out "$OUT/small.json"
step small_off 3000 $PY tools/analysis_tools/benchmark.py --preset small \
  --rounds 3 --no-load --cpu-speedups off --out "$OUT/small_off.json"
step e2e 2400 $PY tools/analysis_tools/e2e_benchmark.py --preset small \
  --images 32 --batch-size 8 --out "$OUT/e2e.json"
step 7b 3000 $PY tools/analysis_tools/benchmark.py --preset 7b \
  --new-tokens 8 --out "$OUT/7b.json"
if [ -x "${VLLM_PYTHON:-/work/vllm-venv/bin/python}" ]; then
  step vllm 1200 "${VLLM_PYTHON:-/work/vllm-venv/bin/python}" \
    tools/analysis_tools/vllm_peer.py \
    work_dirs/bench/llava-small_random_bf16_hf_processor \
    work_dirs/bench/e2e_small_32 --out "$OUT/vllm.json"
fi
step table 120 $PY tools/analysis_tools/speed_table.py "$OUT"
cat "$OUT/table.log"
