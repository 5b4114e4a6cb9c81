"""One decode-step product, bf16 vs the low-bit CPU paths of the libraries.

The layer of a LLaMA-7B MLP (11008x4096), one token (or ``--rows``), with
each candidate of docs/benchmark.md ("Low-bit and offload"): time per call
(median of interleaved rounds) and relative error against bf16.

    python tools/analysis_tools/quant_lib_compare.py --rows 1 8 600
"""
import argparse
import copy
import statistics
import time

import torch
from torch import nn


def candidates(ref: nn.Linear) -> dict:
    """name -> module computing ``ref`` with a low-bit weight."""
    import bitsandbytes as bnb
    from torchao.quantization import Int8WeightOnlyConfig, quantize_
    from torchao.quantization.quantize_.workflows.nf4.nf4_tensor import (
        linear_nf4,
        to_nf4,
    )

    from llava_mm.models.quantization import quantize_linear
    out_f, in_f = ref.weight.shape
    w = ref.weight.data
    mods = {'bf16 F.linear': ref}
    m8 = bnb.nn.Linear8bitLt(in_f, out_f, bias=False,
                             has_fp16_weights=False)
    m8.weight = bnb.nn.Int8Params(w.clone(), requires_grad=False,
                                  has_fp16_weights=False)
    mods['bitsandbytes int8 (Linear8bitLt)'] = m8.to('cpu')
    mods['bitsandbytes nf4 (Linear4bit)'] = quantize_linear(
        w, None, 'nf4', 'cpu', torch.bfloat16)
    tao = copy.deepcopy(ref)
    quantize_(tao, Int8WeightOnlyConfig())
    mods['torchao int8 weight-only'] = tao
    w4 = to_nf4(w, 64, 256)

    class NF4(nn.Module):
        def forward(self, x):
            return linear_nf4(x, w4)
    mods['torchao NF4Tensor'] = NF4()
    mods['llava_mm int8 (torchao + torch int8 kernel)'] = quantize_linear(
        w, None, 'int8', 'cpu', torch.bfloat16)
    return mods


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--rows', type=int, nargs='+', default=[1])
    p.add_argument('--rounds', type=int, default=5)
    p.add_argument('--threads', type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    ref = nn.Linear(4096, 11008, bias=False).to(torch.bfloat16)
    ref.requires_grad_(False).weight.normal_(0, 0.02)
    mods = candidates(ref)
    for rows in args.rows:
        x = torch.randn(rows, 4096, dtype=torch.bfloat16)
        y_ref = ref(x).float()
        times = {k: [] for k in mods}
        with torch.inference_mode():
            err = {k: ((m(x).float() - y_ref).norm() / y_ref.norm()).item()
                   for k, m in mods.items()}
            for _ in range(args.rounds):
                for k, m in mods.items():
                    start = time.perf_counter()
                    m(x)
                    times[k].append(time.perf_counter() - start)
        print(f'rows={rows}')
        for k in mods:
            print(f'  {k:45s} {statistics.median(times[k]) * 1e3:9.2f} ms'
                  f'   rel. error {err[k]:.4f}')


if __name__ == '__main__':
    main()
