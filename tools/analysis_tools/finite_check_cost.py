"""Cost of the NaN/inf check that loading runs on every floating tensor.

Times, per GiB of weights, ``torch.aminmax`` (what
``llava_mm.models.loading.cast_checked`` uses), ``torch.isfinite(t).all()``
and the fp16 cast that loading with ``dtype`` does anyway::

    python tools/analysis_tools/finite_check_cost.py [--mib 256]
"""
import argparse
import time

import torch


def best_of(fn, rounds: int = 3) -> float:
    """Fastest of ``rounds`` calls, in seconds."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--mib', type=int, default=256,
                        help='tensor size per dtype (MiB)')
    args = parser.parse_args()
    torch.manual_seed(0)
    for dtype in (torch.bfloat16, torch.float16, torch.float32):
        numel = (args.mib << 20) // torch.finfo(dtype).bits * 8
        t = torch.randn(numel // 4096, 4096).to(dtype)
        per_gib = 1024 / args.mib
        rows = {
            'aminmax': lambda: torch.aminmax(t),
            'isfinite().all()': lambda: bool(torch.isfinite(t).all()),
            'cast to fp16': lambda: t.to(torch.float16),
        }
        cells = [f'{name} {best_of(fn) * per_gib:.2f}'
                 for name, fn in rows.items()]
        print(f'{dtype} (s/GiB, {torch.get_num_threads()} threads): '
              + ', '.join(cells))


if __name__ == '__main__':
    main()
