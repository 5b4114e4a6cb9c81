"""A/B micro-measurements behind ``engine='auto'``, in one process.

Each speed-up is timed against what it replaces, the two interleaved and
the best of ``--rounds`` kept (other processes only slow a run down), at
each thread count of ``--threads``; the ratios (> 1: the speed-up is
faster) are what ``llava_mm/ops/cpu/speedups.py`` chooses from:

- ``bf16_gemv``: the AVX512-BF16 kernel vs torch's bf16 ``F.linear`` on a
  LLaMA-7B MLP matrix (11008 x 4096), 1, 2, 4 and 8 rows;
- ``fp32_prefill``: a prompt-sized matmul in fp32 vs bf16;
- ``decode_attention``: the decode-step attention vs SDPA (8 sequences,
  12 heads, 640 cached positions);
- ``prefill_each``: the per-sample prompt pass vs the batched one (4
  decoder layers of the benchmark's small preset, 4 prompts of 600-640
  positions).

    python tools/analysis_tools/speedup_ab.py --out work_dirs/ab.json
"""
import argparse
import json
import os
import pathlib
import time
from typing import Callable, Dict, List, Optional

import torch
import torch.nn.functional as F


def best_ratio(base: Callable, fast: Callable, rounds: int) -> dict:
    """Interleaved timing: best seconds of each and base/fast."""
    base(), fast()
    tb, tf = [], []
    for _ in range(rounds):
        for fn, acc in ((base, tb), (fast, tf)):
            start = time.perf_counter()
            fn()
            acc.append(time.perf_counter() - start)
    return dict(base_s=min(tb), fast_s=min(tf),
                speedup=round(min(tb) / min(tf), 3))


def gemv_cases(rounds: int) -> Dict[str, dict]:
    from llava_mm.ops.cpu.gemv import bf16_gemv
    w = torch.randn(11008, 4096).bfloat16()
    out = {}
    for rows in (1, 2, 4, 8):
        x = torch.randn(rows, 4096).bfloat16()
        r = best_ratio(lambda: F.linear(x, w), lambda: bf16_gemv(x, w),
                       rounds)
        r['kernel_gbps'] = round(w.numel() * 2 / r['fast_s'] / 1e9, 1)
        r['torch_gbps'] = round(w.numel() * 2 / r['base_s'] / 1e9, 1)
        out[f'rows_{rows}'] = r
    return out


def fp32_prefill_case(rounds: int) -> dict:
    x = torch.randn(620, 1536)
    w = torch.randn(4096, 1536)
    xb, wb = x.bfloat16(), w.bfloat16()
    return best_ratio(lambda: F.linear(xb, wb),
                      lambda: F.linear(xb.float(), wb.float()), rounds)


def attention_case(rounds: int) -> dict:
    from torch import nn

    from llava_mm.ops.cpu.attention import decode_attention
    layer = nn.Module()
    layer.num_key_value_groups = 1
    q = torch.randn(8, 12, 1, 128).bfloat16()
    buf = torch.randn(8, 12, 700, 128).bfloat16()
    k, v = buf[:, :, :640], buf.flip(2)[:, :, :640]
    return best_ratio(
        lambda: F.scaled_dot_product_attention(q, k, v),
        lambda: decode_attention(layer, q, k, v, None, 128**-0.5), rounds)


def prefill_case(rounds: int) -> dict:
    from transformers import LlamaConfig, LlamaModel

    from llava_mm.generation.kv_cache import (
        CACHE_KWARG,
        PreallocatedCache,
        prefill_each,
    )
    torch.manual_seed(0)
    cfg = LlamaConfig(hidden_size=1536, intermediate_size=4096,
                      num_hidden_layers=4, num_attention_heads=12,
                      num_key_value_heads=12, vocab_size=256,
                      attn_implementation='sdpa')
    decoder = LlamaModel(cfg).bfloat16().eval()
    lengths = [640, 600, 625, 610]
    L = max(lengths)
    embeds = torch.randn(len(lengths), L, 1536).bfloat16()
    mask = torch.zeros(len(lengths), L, dtype=torch.long)
    for i, n in enumerate(lengths):
        mask[i, L - n:] = 1
    pos = (mask.cumsum(1) - 1).clamp(min=0)

    def batched():
        decoder(inputs_embeds=embeds, attention_mask=mask,
                position_ids=pos, use_cache=True,
                **{CACHE_KWARG: PreallocatedCache(4, L + 16)})

    def each():
        prefill_each(decoder, embeds, mask, PreallocatedCache(4, L + 16))
    with torch.no_grad():
        return best_ratio(batched, each, rounds)


def main(argv: Optional[List[str]] = None) -> dict:
    """Run every case at every thread count; print and save the JSON."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--threads', type=int, nargs='+', default=[1, 2])
    p.add_argument('--rounds', type=int, default=5)
    p.add_argument('--out', default=None)
    args = p.parse_args(argv)
    from llava_mm.ops.cpu.features import cpu_features
    res = dict(cpu_features=cpu_features(), rounds=args.rounds,
               loadavg_start=os.getloadavg()[0])
    for t in args.threads:
        torch.set_num_threads(t)
        r = dict(fp32_prefill=fp32_prefill_case(args.rounds),
                 decode_attention=attention_case(args.rounds),
                 prefill_each=prefill_case(args.rounds))
        if res['cpu_features']['avx512_bf16']:
            r['bf16_gemv'] = gemv_cases(args.rounds)
        res[f'threads_{t}'] = r
    res['loadavg_end'] = os.getloadavg()[0]
    text = json.dumps(res, indent=1)
    print(text)
    if args.out:
        pathlib.Path(args.out).write_text(text)
    return res


if __name__ == '__main__':
    main()
