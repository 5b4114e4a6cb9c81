"""One caption batch, ours and transformers', split into prompt and decode.

Runs on the files ``e2e_benchmark.py`` leaves in ``--work-dir``: its test
config, the random checkpoint, the llava-hf export with its processor and
the caption set. One process, the two models alternating for ``--rounds``;
a step timer (a logits processor) gives the time to the first token (image,
prompt pass) and the time of the remaining steps.

    python tools/analysis_tools/e2e_benchmark.py --preset small --images 16
    python tools/analysis_tools/caption_batch_split.py --images 16
"""
import argparse
import json
import os.path as osp
import sys

import torch

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)  # the llava_bench harness


def main() -> None:
    """Print prompt and decode seconds per round for both models."""
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('--work-dir', default='work_dirs/bench')
    p.add_argument('--preset', default='small')
    p.add_argument('--images', type=int, default=16,
                   help='the caption set of e2e_benchmark.py --images N')
    p.add_argument('--batch-size', type=int, default=8)
    p.add_argument('--new-tokens', type=int, default=16)
    p.add_argument('--rounds', type=int, default=2)
    args = p.parse_args()
    from e2e_benchmark import _prompt, hf_caption_inputs, hf_dir_with_processor
    from llava_bench.runner import prepare
    from llava_bench.timing import StepTimer, greedy_cfg
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner
    from transformers import AutoProcessor, LlavaForConditionalGeneration

    from llava_mm import init_model
    cfg, _, ckpt, hf_dir = prepare(args.preset, args.work_dir, 'bf16')
    hf_dir = hf_dir_with_processor(cfg, hf_dir, hf_dir + '_processor')
    data = osp.join(args.work_dir, f'e2e_{args.preset}_{args.images}')
    config = osp.join(data, 'test_config.py')
    ours = init_model(config, ckpt, device='cpu', dtype='bf16')
    test_cfg = Config.fromfile(config)
    test_cfg.test_dataloader.update(num_workers=0,
                                    batch_size=args.batch_size)
    DefaultScope.get_instance('caption_batch_split', scope_name='llava_mm')
    batch = ours.data_preprocessor(
        next(iter(Runner.build_dataloader(test_cfg.test_dataloader))), False)
    processor = AutoProcessor.from_pretrained(hf_dir)
    hf = LlavaForConditionalGeneration.from_pretrained(
        hf_dir, dtype=torch.bfloat16).eval()
    with open(osp.join(data, 'annotations', 'captions.json')) as f:
        items = json.load(f)[:args.batch_size]
    inputs = hf_caption_inputs(processor, data, items, _prompt(cfg))
    runs = dict(
        ours=lambda t: ours.generate(batch['images'], batch['data_samples'],
                                     **greedy_cfg(args.new_tokens, t)),
        transformers=lambda t: hf.generate(**inputs,
                                           **greedy_cfg(args.new_tokens, t)))
    with torch.no_grad():
        for r in range(args.rounds):
            for name, run in runs.items():
                timer = StepTimer()
                run(timer)
                s = timer.steps
                print(json.dumps(dict(
                    round=r, model=name,
                    first_token_s=round(s[0] - timer.start, 2),
                    other_steps_s=round(s[-1] - s[0], 2))), flush=True)


if __name__ == '__main__':
    main()
