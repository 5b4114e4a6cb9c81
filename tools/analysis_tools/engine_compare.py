"""Generation engines side by side, and against transformers, on one device.

The same random checkpoint (the benchmark preset's, see
``llava_bench/checkpoints.py``) is loaded through ``init_model`` once per
``--engines`` entry (llava_mm/generation/strategy.py) and, unless
``--no-hf``, exported to llava-hf and run by transformers'
``LlavaForConditionalGeneration``. For each: load time, batch-1 prefill and
decode rate (best of ``--repeats``), images/s at each ``--batch-sizes``
(``--requests`` requests of ``--new-tokens`` tokens, best of ``--rounds``;
the first round of a compiled engine includes its compilation), and
whether the greedy tokens equal the first engine's and transformers'.
``--quantization`` adds low-bit loads (peak device memory during load and
generation, decode rate). The JSON file is rewritten after every phase, so
a run stopped by a time limit keeps what it measured.

    # the GPU issue's table (one H200, 7B fp16):
    python tools/analysis_tools/engine_compare.py --preset 7b --device cuda \
        --dtype fp16 --work-dir /dev/shm/llava7b --out gpu_engine.json \
        --quantization nf4 int8
    # the same on a CPU, small preset:
    python tools/analysis_tools/engine_compare.py --preset small \
        --engines eager auto compiled --out cpu_engine.json
"""
import argparse
import json
import os.path as osp
import sys
import time
from typing import List, Optional

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # llava_bench
from llava_bench.runner import machine_info, prepare  # noqa: E402
from llava_bench.timing import (  # noqa: E402
    hf_generate,
    make_requests,
    ours_generate,
    time_latency,
    time_throughput,
)

# Named engine settings (init_model's ``engine``). 'old' is the path of
# main before the engine (a preallocated cache and a batched prompt pass
# on every device).
ENGINES = dict(
    old=dict(cache='preallocated', prefill='batched', compile=False),
    auto='auto', eager='eager',
    dynamic=dict(cache='dynamic', compile=False),
    static=dict(cache='static', compile=False),
    compiled=dict(compile=True))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('--preset', default='small',
                   choices=['tiny', 'small', '7b', '13b'])
    p.add_argument('--device', default='cpu')
    p.add_argument('--dtype', default='bf16', choices=['fp32', 'bf16',
                                                       'fp16'])
    p.add_argument('--work-dir', default='work_dirs/bench')
    p.add_argument('--engines', nargs='+', default=['old', 'auto'],
                   choices=sorted(ENGINES))
    p.add_argument('--no-hf', action='store_true')
    p.add_argument('--batch-sizes', nargs='+', type=int, default=[1, 8, 32])
    p.add_argument('--requests', type=int, default=32)
    p.add_argument('--new-tokens', type=int, default=16)
    p.add_argument('--latency-tokens', type=int, default=64)
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--rounds', type=int, default=2)
    p.add_argument('--quantization', nargs='*', default=[],
                   choices=['int8', 'nf4'])
    p.add_argument('--out', default='work_dirs/engine_compare.json')
    return p.parse_args(argv)


def _sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def _memory(device: str) -> dict:
    if not device.startswith('cuda'):
        return {}
    return dict(allocated_gb=torch.cuda.memory_allocated() / 1e9,
                peak_gb=torch.cuda.max_memory_allocated() / 1e9)


def _reset_peak(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def _save(res: dict, path: str) -> None:
    with open(path, 'w') as f:
        json.dump(res, f, indent=1, default=str)


def _fns(models: dict, hf, ref_model):
    fns = {name: (lambda m: lambda i, p, n, t: ours_generate(m, i, p, n, t))(
        m) for name, m in models.items()}
    if hf is not None:
        fns['hf'] = lambda i, p, n, t: hf_generate(hf, ref_model, i, p, n, t)
    return fns


def lowbit(args, cfg, ckpt: str, images, prompts, res: dict) -> None:
    """Low-bit loads: device memory while loading and generating, decode."""
    from llava_mm import init_model
    res['lowbit'] = {}
    for q in args.quantization:
        _reset_peak(args.device)
        start = time.perf_counter()
        model = init_model(cfg, ckpt, device=args.device, dtype=args.dtype,
                           quantization=q)
        _sync(args.device)
        lm = model.lang_encoder
        row = dict(load_s=time.perf_counter() - start,
                   engine=model.engine.describe(),
                   after_load=_memory(args.device),
                   # Whether the layers really are low-bit, and what the
                   # language model holds.
                   layer_types=sorted({type(m).__name__ for m in
                                       lm.get_decoder().layers[0].modules()}),
                   lm_gb=sum(t.nbytes for t in (*lm.parameters(),
                                                *lm.buffers())) / 1e9)
        _reset_peak(args.device)
        lat = time_latency(_fns(dict(ours=model), None, model),
                           images[:1].to(args.device), prompts[0],
                           args.latency_tokens, args.repeats)['ours']
        row.update(decode_tokens_per_s=lat['decode_tokens_per_s'],
                   prefill_s=lat['prefill_s'],
                   generate=_memory(args.device))
        res['lowbit'][q] = row
        del model
        _reset_peak(args.device)
        _save(res, args.out)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    from transformers import LlavaForConditionalGeneration

    from llava_mm import init_model
    from llava_mm.utils.dtypes import to_torch_dtype
    res = dict(machine=machine_info(), args=vars(args))
    if args.device.startswith('cuda'):
        res['machine']['gpu'] = torch.cuda.get_device_name()
    file_dtype = 'fp32' if args.dtype == 'fp32' else 'bf16'
    cfg, _, ckpt, hf_dir = prepare(args.preset, args.work_dir, file_dtype,
                                   hf=not args.no_hf,
                                   fill_device=args.device)
    images, prompts = make_requests(args.requests,
                                    cfg.model.vision_encoder.img_size)
    images = images.to(args.device)
    models, res['load'] = {}, {}
    for name in args.engines:
        _reset_peak(args.device)
        start = time.perf_counter()
        models[name] = init_model(cfg, ckpt, device=args.device,
                                  dtype=args.dtype, engine=ENGINES[name])
        _sync(args.device)
        res['load'][name] = dict(seconds=time.perf_counter() - start,
                                 engine=models[name].engine.describe(),
                                 **_memory(args.device))
    hf = None
    if not args.no_hf:
        start = time.perf_counter()
        hf = LlavaForConditionalGeneration.from_pretrained(
            hf_dir, dtype=to_torch_dtype(args.dtype)).to(args.device).eval()
        _sync(args.device)
        res['load']['hf'] = dict(seconds=time.perf_counter() - start)
    _save(res, args.out)

    first = next(iter(models.values()))
    fns = _fns(models, hf, first)
    lat = time_latency(fns, images[:1], prompts[0], args.latency_tokens,
                       args.repeats)
    ref = lat[args.engines[0]]['tokens']
    res['latency'] = {k: dict({a: b for a, b in v.items() if a != 'tokens'},
                              same_tokens_as_first=v['tokens'] == ref)
                      for k, v in lat.items()}
    _save(res, args.out)

    res['throughput'] = {}
    for b in args.batch_sizes:
        tp = time_throughput(fns, images, prompts, args.new_tokens, [b],
                             args.rounds)
        ref = tp[f'{args.engines[0]}_b{b}']['tokens']
        for k, v in tp.items():
            tokens = v.pop('tokens')
            v['same_tokens_as_first'] = tokens == ref
            res['throughput'][k] = v
        if hf is not None:
            for name in models:
                res['throughput'][f'{name}_b{b}']['images_per_s_vs_hf'] = (
                    res['throughput'][f'{name}_b{b}']['images_per_s'] /
                    res['throughput'][f'hf_b{b}']['images_per_s'])
        _save(res, args.out)
    del models, fns, hf
    if args.quantization:
        lowbit(args, cfg, ckpt, images, prompts, res)
    print(json.dumps(res, indent=1, default=str))
    return res


if __name__ == '__main__':
    main()
