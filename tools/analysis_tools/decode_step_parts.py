"""Where a batch-1 decode step's time goes, on a model from ``init_model``.

Three timings on the loaded model (the ``engine`` as ``init_model``
applies them), each the median of ``--steps`` runs:

- ``linears``: every ``nn.Linear`` of the language model once on one row
  (the weight-streaming part of a step; its GB/s is weights / time);
- ``forward``: one decoder forward of one new token with a cache;
- ``generate``: one step of the language model's ``generate`` (transformers'
  loop, from a step timer).

    python tools/analysis_tools/benchmark.py --preset 7b --new-tokens 8
    python tools/analysis_tools/decode_step_parts.py \\
        work_dirs/bench/7b_config.py work_dirs/bench/llava-7b_random_bf16.pth
"""
import argparse
import json
import os.path as osp
import statistics
import sys
import time

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # llava_bench


def _median_s(fn, n: int) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Print the three timings as JSON."""
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--prompt-positions', type=int, default=16)
    p.add_argument('--steps', type=int, default=9)
    args = p.parse_args()
    from llava_bench.timing import StepTimer, greedy_cfg
    from transformers import DynamicCache

    from llava_mm import init_model
    model = init_model(args.config, args.checkpoint, device='cpu',
                       dtype='bf16')
    lm = model.lang_encoder
    linears = [m for m in lm.modules() if isinstance(m, torch.nn.Linear)]
    rows = [torch.randn(1, 1, m.in_features, dtype=lm.dtype) for m in linears]
    weight_gb = sum(m.weight.numel() * m.weight.element_size()
                    for m in linears) / 1e9
    prompt = torch.randn(1, args.prompt_positions, lm.config.hidden_size,
                         dtype=lm.dtype) * 0.02
    with torch.no_grad():
        linear_s = _median_s(
            lambda: [m(x) for m, x in zip(linears, rows)], args.steps)
        cache = DynamicCache()
        lm(inputs_embeds=prompt, past_key_values=cache, use_cache=True,
           logits_to_keep=1)
        token = torch.tensor([[lm.config.bos_token_id or 1]])
        forward_s = _median_s(
            lambda: lm(input_ids=token, past_key_values=cache,
                       use_cache=True, logits_to_keep=1), args.steps)
        timer = StepTimer()
        lm.generate(inputs_embeds=prompt,
                    attention_mask=torch.ones(prompt.shape[:2],
                                              dtype=torch.long),
                    pad_token_id=0, **greedy_cfg(args.steps + 1, timer))
    steps = [b - a for a, b in zip(timer.steps, timer.steps[1:])]
    print(json.dumps(dict(
        linears=len(linears), weight_gb=round(weight_gb, 2),
        linears_s=round(linear_s, 3),
        linears_gbps=round(weight_gb / linear_s, 1),
        forward_step_s=round(forward_s, 3),
        generate_step_s=round(statistics.median(steps), 3),
        engine=model.engine.describe(),
        threads=torch.get_num_threads())))


if __name__ == '__main__':
    main()
