#!/usr/bin/env bash
# The GPU checks of the generation engine, for the lent GPU machine, which
# reaches no package registry. Prepare here, then run there:
#
#   bash ../shared/gpu/prepare.sh            # here: wheels into .gpu/
#   run(command="bash tools/analysis_tools/gpu_check.sh", carry=[".gpu"])
#
# Every step has its own timeout and writes JSON under $OUT as it goes;
# nothing runs in the background. At most 9 minutes (the step limits).
#
# 1. shapes: the shipped model on CUDA, fp16 auto (compiled), bf16 eager,
#    int8, nf4: the CPU fp32 answers and caption, alone and batched?
# 2. engine_7b: a random real-size LLaVA-1.5-7B in fp16, old path (main
#    before the engine) vs the engine's auto (static cache + compiled
#    decode) vs transformers: load time, prefill and decode at batch 1,
#    images/s at 8 and 32; then nf4 and int8 (device memory while loading
#    and generating, decode)
# 3. test_py: tools/test.py on 500 shapes images (batch size 'auto',
#    questions grouped by length), samples/s in the log
set -u
cd "$(dirname "$0")/../.."
OUT="${OUT:-${OUT_DIR:-work_dirs/gpu_check}}"
mkdir -p "$OUT"
if [ -f .gpu/device_env.sh ]; then
    # shellcheck disable=SC1091
    source .gpu/device_env.sh || exit 1
fi
export PYTHONPATH="$PWD:$PWD/tools/analysis_tools${PYTHONPATH:+:$PYTHONPATH}"
W7="${W7:-/dev/shm/llava_gpu_7b}"
# A dry run on a CPU: DEVICE=cpu PRESET=tiny DTYPE=bf16 bash ...gpu_check.sh
DEVICE="${DEVICE:-cuda}" PRESET="${PRESET:-7b}" DTYPE="${DTYPE:-fp16}"
export DEVICE
: > "$OUT/status.txt"

step() {  # step NAME SECONDS CMD...
    local name=$1 limit=$2
    shift 2
    echo "== $name ($(date -u +%H:%M:%S), ${limit}s)"
    timeout --kill-after=10 "$limit" "$@" > "$OUT/$name.log" 2>&1
    echo "$name rc=$?" | tee -a "$OUT/status.txt"
    tail -n 6 "$OUT/$name.log"
}

{ nvidia-smi; python3 -c 'import torch, transformers; print(torch.__version__, transformers.__version__)'; } \
    > "$OUT/machine.txt" 2>&1

step shapes 120 python3 - "$OUT/shapes.json" <<'EOF'
import json, os, sys
from llava_mm import get_model, inference_model
img, qs = 'demo/shapes.png', ['What shape is on the left?',
                              'How many shapes are there?']
dev = os.environ['DEVICE']
res = {}
for dev, dt, q, eng in [('cpu', 'fp32', None, 'eager'),
                        (dev, 'fp16', None, 'auto'),
                        (dev, 'bf16', None, 'eager'),
                        (dev, 'bf16', 'int8', 'auto'),
                        (dev, 'fp16', 'nf4', 'auto')]:
    kw = dict(device=dev, dtype=dt, quantization=q, engine=eng)
    cap = get_model('llava-tiny-shapes_caption', **kw)
    vqa = get_model('llava-tiny-shapes_vqa', **kw)
    res[f'{dev}_{dt}_{q}_{eng}'] = dict(
        engine=vqa.engine.describe(),
        caption=inference_model(cap, img)['pred_caption'],
        answers=[inference_model(vqa, img, x)['pred_answer'] for x in qs],
        batched=[r['pred_answer'] for r in inference_model(vqa, [img] * 2,
                                                           qs)])
    json.dump(res, open(sys.argv[1], 'w'), indent=1)
ref = res['cpu_fp32_None_eager']
res['same_as_cpu'] = {k: {f: v[f] == ref[f] for f in ('caption', 'answers',
                                                      'batched')}
                      for k, v in res.items()}
json.dump(res, open(sys.argv[1], 'w'), indent=1)
print(json.dumps(res['same_as_cpu'], indent=1))
EOF

step engine_7b 330 python3 tools/analysis_tools/engine_compare.py \
    --preset "$PRESET" --device "$DEVICE" --dtype "$DTYPE" --work-dir "$W7" \
    --engines old auto --batch-sizes 8 32 --requests 32 --new-tokens 16 \
    --latency-tokens 64 --repeats 3 --rounds 2 --quantization nf4 int8 \
    --out "$OUT/engine_7b.json"
rm -rf "$W7"

step shapes_data 30 python3 projects/tiny_shapes/make_shapes.py \
    --out data/shapes --split test --num-images 500 --seed 2024
step test_py 60 python3 tools/test.py \
    configs/llava/llava-tiny-shapes_vqa.py \
    checkpoints/llava-tiny-shapes/llava-tiny-shapes-a01aa8b8.pth \
    --dtype fp16 --work-dir "$OUT/test_py" \
    --cfg-options test_dataloader.batch_size=auto
echo "results in $OUT"; cat "$OUT/status.txt"
