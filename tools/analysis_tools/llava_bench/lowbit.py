"""Low-bit runs: int8/nf4 language models against bf16, same random file.

Each variant is loaded by ``init_model(..., quantization=...)`` in its own
child process (:func:`~.memory.measure_load`): load time, peak RSS, one
greedy caption (EOS ignored) with its prompt time and decode tokens/s.
"""
import os
from typing import Dict, List, Sequence

import torch

from .memory import measure_load
from .runner import GB, decode_bound, machine_info, prepare


def _agreement(tokens: List[int], ref: List[int]) -> dict:
    """Share of equal positions and the first differing position."""
    same = [a == b for a, b in zip(tokens, ref)]
    first = next((i for i, s in enumerate(same) if not s), None)
    return dict(same_tokens=round(sum(same) / max(len(ref), 1), 4),
                first_difference=first)


def lowbit_compare(preset: str, work_dir: str,
                   quantizations: Sequence[str], new_tokens: int,
                   engine: str = 'auto') -> dict:
    """bf16 and each quantization: load, peak RSS, decode speed, tokens.

    Args:
        preset (str): ``'tiny'`` or ``'small'``.
        work_dir (str): Files (reused).
        quantizations (Sequence[str]): ``'int8'``, ``'nf4'``.
        new_tokens (int): Tokens of the caption.
        engine (str): Every run: ``init_model``'s setting
            (``'auto'``, ``'on'``, ``'off'`` or a JSON dict).

    Returns:
        dict: ``machine``, ``config``, ``runs`` (per variant) and
        ``ratios`` (over bf16).
    """
    res = dict(machine=machine_info())
    cfg, cfg_path, ckpt, _ = prepare(preset, work_dir, 'bf16', hf=False)
    res['config'] = dict(preset=preset, checkpoint=ckpt,
                         checkpoint_gb=os.path.getsize(ckpt) / GB,
                         new_tokens=new_tokens, engine=engine,
                         threads=torch.get_num_threads())
    runs: Dict[str, dict] = {}
    for q in ['bf16', *quantizations]:
        extra = ['--touch', '--engine', engine] + \
            ([] if q == 'bf16' else ['--quantization', q])
        runs[q] = measure_load('ours', cfg_path, ckpt, 'bf16',
                               new_tokens=new_tokens,
                               threads=torch.get_num_threads(), extra=extra)
    bw, bound = decode_bound(cfg)
    ref = runs['bf16']
    ratios = dict(memory_read_gbps=round(bw, 1),
                  bf16_decode_bound_tokens_per_s=round(bound, 2))
    for q, r in runs.items():
        r['peak_rss_over_base'] = r['peak_rss'] - r['rss_base']
        ratios[q] = dict(
            decode_over_bf16_bound=round(r['decode_tokens_per_s'] / bound,
                                         3),
            decode_over_bf16=round(r['decode_tokens_per_s'] /
                                   ref['decode_tokens_per_s'], 3),
            peak_rss_over_bf16=round(r['peak_rss_over_base'] /
                                     ref['peak_rss_over_base'], 3),
            **_agreement(r['tokens'], ref['tokens']))
    res['runs'], res['ratios'] = runs, ratios
    res['machine']['loadavg_end'] = os.getloadavg()[0]
    return res


def lowbit_summary(res: dict) -> str:
    """The human-readable table of :func:`lowbit_compare`'s result."""
    from .runner import format_table
    rows = [['variant', 'load s', 'peak RSS - base GB', 'prefill s',
             'decode tok/s', 'x bf16 bound', 'same tokens']]
    for q, r in res['runs'].items():
        x = res['ratios'][q]
        rows.append([q, f'{r["load_s"]:.2f}',
                     f'{r["peak_rss_over_base"] / GB:.3f}',
                     f'{r["prefill_s"]:.2f}',
                     f'{r["decode_tokens_per_s"]:.2f}',
                     x['decode_over_bf16_bound'], x['same_tokens']])
    return format_table(rows) + (
        f'\nbf16 bound: {res["ratios"]["bf16_decode_bound_tokens_per_s"]} '
        f'tokens/s at {res["ratios"]["memory_read_gbps"]} GB/s')
