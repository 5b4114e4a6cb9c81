#!/usr/bin/env bash
# GPU checks of issue #19, for a lent CUDA machine (one run, ~15 min in all).
# Every step has its own timeout and writes under $OUT; nothing runs in the
# background (no `wait`). Steps that need a package that does not install
# (vllm, flash-attn) record that and go on.
#
#   OUT=/tmp/gpu bash tools/analysis_tools/gpu_check.sh
#
# 1. shapes model on cuda in fp16 and bf16: same caption/answers as CPU fp32
# 2. tools/test.py on cuda (500 shapes VQA images)
# 3. random real-size 7B fp16: batch-1 decode and batch-8 captions, ours vs
#    transformers' LlavaForConditionalGeneration on the same weights
# 4. vLLM (own venv) on the llava-hf export of the same weights
# 5. nf4/int8 on cuda (shapes model answers, 7B nf4 decode)
# 6. attn_implementation sdpa vs flash_attention_2
set -u
cd "$(dirname "$0")/../.."
OUT="${OUT:-work_dirs/gpu_check}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD:$PWD/tools/analysis_tools${PYTHONPATH:+:$PYTHONPATH}"
W7="${W7:-/tmp/llava_gpu_7b}"
: > "$OUT/status.txt"

step() {  # step NAME SECONDS CMD...
    local name=$1 limit=$2
    shift 2
    echo "== $name ($(date -u +%H:%M:%S), ${limit}s)"
    timeout --kill-after=10 "$limit" "$@" > "$OUT/$name.log" 2>&1
    echo "$name rc=$?" | tee -a "$OUT/status.txt"
    tail -n 8 "$OUT/$name.log"
}

{ nvidia-smi; python -c 'import torch; print(torch.__version__)'; } \
    > "$OUT/machine.txt" 2>&1
step install 240 python -m pip install -q -e '.[tests,quant]'
step flash_attn_install 150 python -m pip install -q flash-attn==2.8.3 \
    --no-build-isolation

step shapes_cuda 180 python - "$OUT/shapes_cuda.json" <<'EOF'
import json, sys
from llava_mm import get_model, inference_model
img, qs = 'demo/shapes.png', ['What shape is on the left?',
                              'How many shapes are there?']
res = {}
for dev, dt, q in [('cpu', 'fp32', None), ('cuda', 'fp16', None),
                   ('cuda', 'bf16', None), ('cuda', 'bf16', 'int8'),
                   ('cuda', 'fp16', 'nf4')]:
    cap = get_model('llava-tiny-shapes_caption', device=dev, dtype=dt,
                    quantization=q)
    vqa = get_model('llava-tiny-shapes_vqa', device=dev, dtype=dt,
                    quantization=q)
    res[f'{dev}_{dt}_{q}'] = dict(
        caption=inference_model(cap, img)['pred_caption'],
        answers=[inference_model(vqa, img, x)['pred_answer'] for x in qs])
ref = res['cpu_fp32_None']
res['same_as_cpu'] = {k: v == ref for k, v in res.items()}
json.dump(res, open(sys.argv[1], 'w'), indent=1)
print(json.dumps(res, indent=1))
EOF

step shapes_data 60 python projects/tiny_shapes/make_shapes.py \
    --out data/shapes --split test --num-images 500 --seed 2024
step test_py_cuda 240 python tools/test.py \
    configs/llava/llava-tiny-shapes_vqa.py \
    checkpoints/llava-tiny-shapes/llava-tiny-shapes-a01aa8b8.pth \
    --dtype fp16 --work-dir "$OUT/test_py_cuda"

step write_7b 300 python tools/analysis_tools/benchmark.py --preset 7b \
    --work-dir "$W7" --make-checkpoint "$W7/llava-7b_random_bf16.pth"
step ours_vs_hf_7b 420 python - "$W7" "$OUT/ours_vs_hf_7b.json" <<'EOF'
import json, sys, torch
from llava_bench.checkpoints import benchmark_config, make_tokenizer
from llava_bench.timing import (hf_generate, make_requests, ours_generate,
                                time_latency, time_throughput)
from llava_mm import init_model
from llava_mm.converters.to_llava_hf import export_llava_hf
from transformers import LlavaForConditionalGeneration
w = sys.argv[1]
cfg = benchmark_config('7b', make_tokenizer(f'{w}/tokenizer'))
ckpt, hf_dir = f'{w}/llava-7b_random_bf16.pth', f'{w}/hf'
export_llava_hf(cfg, ckpt, hf_dir)
ours = init_model(cfg, ckpt, device='cuda', dtype='fp16')
images, prompts = make_requests(8, cfg.model.vision_encoder.img_size)
images = images.cuda()
res = {}
for attn in ['sdpa', 'flash_attention_2']:
    try:
        hf = LlavaForConditionalGeneration.from_pretrained(
            hf_dir, dtype=torch.float16, attn_implementation=attn).cuda()
    except Exception as e:  # flash-attn missing: record why
        res[attn] = f'{type(e).__name__}: {e}'[:300]
        continue
    fns = dict(ours=lambda i, p, n, t: ours_generate(ours, i, p, n, t),
               hf=lambda i, p, n, t: hf_generate(hf, ours, i, p, n, t))
    lat = time_latency(fns, images[:1], prompts[0], 32, 2)
    tp = time_throughput(fns, images, prompts, 16, [1, 8], 1)
    res[attn] = dict(
        latency={k: {a: b for a, b in v.items() if a != 'tokens'}
                 for k, v in lat.items()},
        same_tokens=lat['ours']['tokens'] == lat['hf']['tokens'],
        throughput={k: {a: b for a, b in v.items() if a != 'tokens'}
                    for k, v in tp.items()})
    del hf
    torch.cuda.empty_cache()
json.dump(res, open(sys.argv[2], 'w'), indent=1, default=str)
print(json.dumps(res, indent=1, default=str))
EOF

step nf4_7b 240 python - "$W7" "$OUT/nf4_7b.json" <<'EOF'
import json, sys, torch
from llava_bench.checkpoints import benchmark_config, make_tokenizer
from llava_bench.timing import make_requests, ours_generate, StepTimer
from llava_mm import init_model
w = sys.argv[1]
cfg = benchmark_config('7b', make_tokenizer(f'{w}/tokenizer'))
res = {}
for q in ['nf4', 'int8']:
    m = init_model(cfg, f'{w}/llava-7b_random_bf16.pth', device='cuda',
                   dtype='fp16', quantization=q)
    images, prompts = make_requests(1, cfg.model.vision_encoder.img_size)
    t = StepTimer()
    ours_generate(m, images.cuda(), prompts, 32, t)
    res[q] = dict(decode_tokens_per_s=(len(t.steps) - 1) /
                  (t.steps[-1] - t.steps[0]),
                  max_memory_gb=torch.cuda.max_memory_allocated() / 1e9)
    del m
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
json.dump(res, open(sys.argv[2], 'w'), indent=1)
print(res)
EOF

step vllm_venv 240 bash -c "python -m venv /tmp/vllm_venv && \
    /tmp/vllm_venv/bin/pip install -q vllm"
step vllm_7b 300 /tmp/vllm_venv/bin/python - "$W7/hf" \
    "$OUT/vllm_7b.json" <<'EOF'
import json, sys, time
from vllm import LLM, SamplingParams
llm = LLM(model=sys.argv[1], dtype='float16', max_model_len=2048)
from PIL import Image
import numpy as np
img = Image.fromarray(np.random.RandomState(0).randint(
    0, 255, (336, 336, 3), dtype=np.uint8))
p = 'USER: <image>\nDescribe the image briefly. ASSISTANT:'
sp = SamplingParams(max_tokens=16, min_tokens=16, temperature=0)
reqs = [{'prompt': p, 'multi_modal_data': {'image': img}}] * 8
llm.generate(reqs[:1], sp)
t = time.perf_counter()
llm.generate(reqs, sp)
res = dict(batch8_images_per_s=8 / (time.perf_counter() - t))
json.dump(res, open(sys.argv[2], 'w'))
print(res)
EOF
rm -rf "$W7"
echo "results in $OUT"; cat "$OUT/status.txt"
