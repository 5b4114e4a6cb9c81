"""Benchmark llava_mm against transformers' LlavaForConditionalGeneration.

Side by side, same random weights, pixels and prompts (docs/benchmark.md):

    python tools/analysis_tools/benchmark.py --preset small \
        --out work_dirs/bench.json

Real-size LLaVA-7B (random bf16 weights, OpenMMLab layout, written to disk
when missing): load time vs reading the file, peak RSS, one caption:

    python tools/analysis_tools/benchmark.py --preset 7b \
        --out work_dirs/bench_7b.json

Low-bit language models (int8 torchao, nf4 bitsandbytes) against bf16,
each built by init_model(..., quantization=...):

    python tools/analysis_tools/benchmark.py --preset small \
        --quantization int8 nf4 --out work_dirs/lowbit/small.json

A random real-size LLaVA-1.5 13B captioning an image in int8:

    python tools/analysis_tools/benchmark.py --preset 13b \
        --quantization int8 --out work_dirs/lowbit/13b_int8.json

Only write the random checkpoint of a preset:

    python tools/analysis_tools/benchmark.py --preset 7b --make-checkpoint PATH
"""
import argparse
import json
import os
import os.path as osp
import sys
from typing import List, Optional

import torch

# The harness sits beside this script (sys.path[0] when it is run).
from llava_bench.checkpoints import (
    benchmark_config,
    make_tokenizer,
    write_random_checkpoint,
)
from llava_bench.lowbit import lowbit_compare, lowbit_summary
from llava_bench.runner import load_check, side_by_side, summary


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line options (see ``--help`` and docs/benchmark.md)."""
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('--preset', choices=['tiny', 'small', '7b', '13b'],
                   default='small', help='model size (default: small)')
    p.add_argument('--out', default=None, help='JSON results file')
    p.add_argument('--work-dir', default='work_dirs/bench',
                   help='tokenizer, configs and checkpoints (reused)')
    p.add_argument('--dtype', choices=['auto', 'fp32', 'bf16'],
                   default='auto', help='side-by-side dtype of both models; '
                   'auto: bf16 where the CPU has native bf16 matmuls, else '
                   'fp32')
    p.add_argument('--threads', type=int, default=2,
                   help='torch threads (default 2)')
    p.add_argument('--new-tokens', type=int, default=32,
                   help='tokens of the batch-1 latency runs (default 32)')
    p.add_argument('--eval-new-tokens', type=int, default=16,
                   help='tokens per caption in the throughput runs '
                   '(default 16)')
    p.add_argument('--batch-sizes', type=int, nargs='+', default=[1, 4, 8])
    p.add_argument('--requests', type=int, default=8,
                   help='captions per throughput run (default 8)')
    p.add_argument('--repeats', type=int, default=3,
                   help='timed rounds of the latency runs (default 3)')
    p.add_argument('--rounds', type=int, default=2,
                   help='rounds of the throughput runs, best kept '
                   '(default 2)')
    p.add_argument('--no-load', action='store_true',
                   help='skip the load time / peak RSS child processes')
    p.add_argument('--drop-caches', action='store_true',
                   help='drop the page cache before each load (root)')
    p.add_argument('--checkpoint', default=None,
                   help='7b: an existing random (or real) bf16 checkpoint')
    p.add_argument('--config', default=None,
                   help='base config (default configs/llava/'
                   'llava-7b-v1.5_caption.py)')
    p.add_argument('--engine', default='auto',
                   help="ours: init_model's engine, 'auto' (default), "
                   "'eager' or a JSON dict, e.g. "
                   '\'{"prefill": "batched"}\' '
                   '(llava_mm/generation/strategy.py)')
    p.add_argument('--quantization', nargs='+', choices=['int8', 'nf4'],
                   default=None, help='tiny/small: compare these low-bit '
                   'LMs with bf16 (load, peak RSS, decode, tokens); 7b/13b: '
                   'load the LM in this one')
    p.add_argument('--make-checkpoint', metavar='PATH', default=None,
                   help='only write the random bf16 checkpoint of --preset')
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    """Run the benchmark.

    Args:
        argv (list[str], optional): Arguments (default: ``sys.argv``).

    Returns:
        dict: The results (also printed and written to ``--out``).
    """
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    os.makedirs(args.work_dir, exist_ok=True)
    if args.make_checkpoint:
        tok = make_tokenizer(osp.join(args.work_dir, 'tokenizer'))
        cfg = benchmark_config(args.preset, tok, args.config)
        n = write_random_checkpoint(cfg, args.make_checkpoint)
        print(f'Wrote {n / 1e9:.2f}B random bf16 parameters to '
              f'{args.make_checkpoint}')
        return dict(checkpoint=args.make_checkpoint, params=n)
    quant = args.quantization
    if args.preset in ('7b', '13b'):
        if quant and len(quant) > 1:
            raise SystemExit(f'--preset {args.preset} loads one model: '
                             'pass one --quantization value.')
        res = load_check(args.work_dir, args.new_tokens, args.checkpoint,
                         args.config, engine=args.engine,
                         preset=args.preset,
                         quantization=quant[0] if quant else None)
    elif quant:
        res = lowbit_compare(args.preset, args.work_dir, quant,
                             args.new_tokens,
                             engine=args.engine)
    else:
        dtype = args.dtype
        if dtype == 'auto':
            dtype = 'bf16' if torch.ops.mkldnn._is_mkldnn_bf16_supported() \
                else 'fp32'
        res = side_by_side(args.preset, args.work_dir, dtype,
                           args.new_tokens, args.eval_new_tokens,
                           args.batch_sizes, args.requests, args.repeats,
                           rounds=args.rounds, load=not args.no_load,
                           drop_caches=args.drop_caches,
                           engine=args.engine)
    res['command'] = ' '.join(['python', 'tools/analysis_tools/benchmark.py'] +
                              (sys.argv[1:] if argv is None else argv))
    print(lowbit_summary(res) if 'runs' in res else summary(res))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(res, f, indent=1)
        print(f'Results written to {args.out}')
    return res


if __name__ == '__main__':
    main()
