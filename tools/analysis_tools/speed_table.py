"""Rows of docs/benchmark.md's table from speed_report.sh's JSON files.

    python tools/analysis_tools/speed_table.py work_dirs/speed

Prints one markdown table, "this run" column, in the docs' row order
(missing files give "-").
"""
import json
import os.path as osp
import sys
from typing import Optional


def _load(out_dir: str, name: str) -> Optional[dict]:
    path = osp.join(out_dir, f'{name}.json')
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def _get(d: Optional[dict], *keys, fmt: str = '{}') -> str:
    for k in keys:
        if not isinstance(d, dict) or k not in d or d[k] is None:
            return '-'
        d = d[k]
    return fmt.format(d)


def rows(out_dir: str) -> list:
    """(metric, target, value) rows."""
    s, e, b7, v = (_load(out_dir, n) for n in ('small', 'e2e', '7b',
                                               'vllm'))
    r = (s or {}).get('ratios')
    lim = (s or {}).get('limits')
    out = [
        ('prefill, batch 1', '>= 1.0', _get(r, 'prefill_speedup')),
        ('decode, batch 1', '>= 1.3', _get(r, 'decode_speedup')),
        ('eval, batch 1', '>= 1.0', _get(r, 'eval_b1_vs_hf_loop')),
        ('eval, batch 4 vs tf batch 4', '>= 1.0',
         _get(r, 'eval_b4_vs_hf_batched')),
        ('eval, batch 8 vs tf batch 8', '>= 1.0',
         _get(r, 'eval_b8_vs_hf_batched')),
        ("eval, batch 8 vs tf's batch-1 loop", '>= 1.5',
         _get(r, 'eval_b8_vs_hf_loop')),
        ('tools/test.py vs tf loop (batch 8), images/s', '>= 1.2',
         _get(e, 'ratio')),
        ('7B decode, of the bandwidth bound', '>= 0.9',
         _get(b7, 'ratios', 'decode_over_bound')),
        ('7B peak RSS / file', '-', _get(b7, 'ratios', 'peak_rss_over_file')),
        ('prefill, of matmul peak (ours / tf)', '-',
         f"{_get(lim, 'ours', 'prefill_of_peak')} / "
         f"{_get(lim, 'hf', 'prefill_of_peak')}"),
        ('decode b1, of read bandwidth (ours / tf)', '-',
         f"{_get(lim, 'ours', 'decode_b1_of_bandwidth')} / "
         f"{_get(lim, 'hf', 'decode_b1_of_bandwidth')}"),
        ('decode b8, of read bandwidth (ours / tf)', '-',
         f"{_get(lim, 'ours', 'decode_b8_of_bandwidth')} / "
         f"{_get(lim, 'hf', 'decode_b8_of_bandwidth')}"),
        ('7B prefill, of bf16 matmul peak', '-',
         _get(b7, 'ratios', 'prefill_of_peak')),
        ('vLLM CPU images/s (tf loop images/s)', '-',
         f"{_get(v, 'images_per_s', fmt='{:.3f}')} "
         f"({_get(e, 'hf', 'images_per_s', fmt='{:.3f}')})"),
    ]
    return out


def main() -> None:
    out_dir = sys.argv[1] if len(sys.argv) > 1 else 'work_dirs/speed'
    s = _load(out_dir, 'small') or {}
    m = s.get('machine', {})
    print(f"CPU: {m.get('cpu', '-')}, {m.get('threads', '-')} threads, "
          f"{m.get('date', '-')}, load average {m.get('loadavg_start')}"
          f" -> {m.get('loadavg_end')}")
    print('| | target | this run |\n| --- | --- | --- |')
    for name, target, value in rows(out_dir):
        print(f'| {name} | {target} | {value} |')


if __name__ == '__main__':
    main()
