"""A real-size random LLaVA-1.6 (Vicuna-7B, anyres) on the CPU, against 1.5.

For each of ``configs/llava/llava-v1.6-vicuna-7b_caption.py`` and the
LLaVA-1.5 7B caption config, a random bf16 checkpoint of the real shapes
is written (``llava_bench/checkpoints.py``), then a child process loads it
through ``get_model`` and captions one random image of each LLaVA-1.6
pinpoint size with ``inference_model``. Reported per model: load time, peak
RSS after the load and after the captions, and per image size its image
tokens and the seconds per caption.

    python tools/analysis_tools/next_7b_check.py --work-dir /data/bench7b \
        --out work_dirs/next_7b.json
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import List, Optional

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))
sys.path.insert(0, HERE)  # the llava_bench harness
CONFIGS = {
    'v1.6': osp.join(REPO, 'configs', 'llava',
                     'llava-v1.6-vicuna-7b_caption.py'),
    'v1.5': osp.join(REPO, 'configs', 'llava', 'llava-7b-v1.5_caption.py'),
}
# LLaVA-1.6's pinpoints, [height, width].
SIZES = [(336, 672), (672, 336), (672, 672), (1008, 336), (336, 1008)]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('--work-dir', default='work_dirs/bench7b')
    p.add_argument('--versions', nargs='+', default=['v1.6', 'v1.5'],
                   choices=sorted(CONFIGS))
    p.add_argument('--new-tokens', type=int, default=8)
    p.add_argument('--out', default='work_dirs/next_7b.json')
    p.add_argument('--child', nargs=3, metavar=('VERSION', 'CONFIG', 'CKPT'),
                   help=argparse.SUPPRESS)
    return p.parse_args(argv)


def child(version: str, config: str, ckpt: str, new_tokens: int) -> dict:
    """Load and caption in this process (its peak RSS is the model's)."""
    import numpy as np
    import torch
    from llava_bench.memory import rss_bytes
    from mmengine.config import Config

    from llava_mm import get_model, inference_model
    start = time.perf_counter()
    model = get_model(Config.fromfile(config), pretrained=ckpt,
                      device='cpu', dtype='bf16')
    res = dict(version=version, load_s=round(time.perf_counter() - start, 1),
               peak_rss_load_gb=round(rss_bytes('VmHWM') / 1e9, 2),
               threads=torch.get_num_threads(), images=[])
    rng = np.random.RandomState(0)
    for h, w in SIZES:
        image = rng.randint(0, 255, (h, w, 3), dtype=np.uint8)
        start = time.perf_counter()
        inference_model(model, image, max_new_tokens=new_tokens,
                        min_new_tokens=new_tokens)
        res['images'].append(dict(
            size=[h, w], image_tokens=model.num_image_tokens((h, w)),
            seconds=round(time.perf_counter() - start, 1)))
    res['peak_rss_gb'] = round(rss_bytes('VmHWM') / 1e9, 2)
    return res


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child, args.new_tokens)))
        return {}
    from llava_bench.checkpoints import (
        benchmark_config,
        make_tokenizer,
        write_random_checkpoint,
    )
    from llava_bench.runner import machine_info
    os.makedirs(args.work_dir, exist_ok=True)
    tok = make_tokenizer(osp.join(args.work_dir, 'tokenizer'))
    res = dict(machine=machine_info(), new_tokens=args.new_tokens, runs={})
    for version in args.versions:
        cfg = benchmark_config('7b', tok, CONFIGS[version])
        config = osp.join(args.work_dir, f'{version}_config.py')
        cfg.dump(config)
        ckpt = osp.join(args.work_dir, f'llava-{version}-7b_random_bf16.pth')
        if not osp.isfile(ckpt):
            start = time.perf_counter()
            write_random_checkpoint(cfg, ckpt)
            res[f'write_{version}_s'] = round(time.perf_counter() - start)
        out = subprocess.run(
            [sys.executable, osp.abspath(__file__), '--new-tokens',
             str(args.new_tokens), '--child', version, config, ckpt],
            capture_output=True, text=True, cwd=REPO,
            env=dict(os.environ, PYTHONPATH=os.pathsep.join(
                p for p in (REPO, os.environ.get('PYTHONPATH')) if p)))
        if out.returncode:
            raise SystemExit(f'{version} failed:\n{out.stderr[-3000:]}')
        run = json.loads(out.stdout.strip().splitlines()[-1])
        run['file_gb'] = round(osp.getsize(ckpt) / 1e9, 2)
        res['runs'][version] = run
        with open(args.out, 'w') as f:
            json.dump(res, f, indent=1)
    res['machine']['loadavg_end'] = os.getloadavg()[0]
    with open(args.out, 'w') as f:
        json.dump(res, f, indent=1)
    print(json.dumps(res['runs'], indent=1))
    return res


if __name__ == '__main__':
    main()
