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
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner
    from PIL import Image
    from transformers import (AutoProcessor, LlavaForConditionalGeneration,
                              LogitsProcessorList)

    from llava_bench.timing import StepTimer
    from llava_mm import init_model
    data = osp.join(args.work_dir, f'e2e_{args.preset}_{args.images}')
    config = osp.join(data, 'test_config.py')
    ckpt = osp.join(args.work_dir, f'llava-{args.preset}_random_bf16.pth')
    hf_dir = osp.join(args.work_dir,
                      f'llava-{args.preset}_random_bf16_hf_processor')
    ours = init_model(config, ckpt, device='cpu', dtype='bf16')
    cfg = Config.fromfile(config)
    cfg.test_dataloader.update(num_workers=0, batch_size=args.batch_size)
    DefaultScope.get_instance('caption_batch_split', scope_name='llava_mm')
    batch = ours.data_preprocessor(
        next(iter(Runner.build_dataloader(cfg.test_dataloader))), False)
    processor = AutoProcessor.from_pretrained(hf_dir)
    hf = LlavaForConditionalGeneration.from_pretrained(
        hf_dir, dtype=torch.bfloat16).eval()
    with open(osp.join(data, 'annotations', 'captions.json')) as f:
        items = json.load(f)[:args.batch_size]
    with open(osp.join(data, 'prompt.txt')) as f:
        prompt = f.read()
    images = [Image.open(osp.join(data, it['image'])).convert('RGB')
              for it in items]
    inputs = processor(images=images, text=[prompt] * len(images),
                       return_tensors='pt', padding=True)
    gen = dict(max_new_tokens=args.new_tokens,
               min_new_tokens=args.new_tokens, do_sample=False, num_beams=1)
    runs = dict(
        ours=lambda lp: ours.generate(batch['images'], batch['data_samples'],
                                      logits_processor=lp, **gen),
        transformers=lambda lp: hf.generate(**inputs, logits_processor=lp,
                                            **gen))
    with torch.no_grad():
        for r in range(args.rounds):
            for name, run in runs.items():
                timer = StepTimer()
                run(LogitsProcessorList([timer]))
                s = timer.steps
                print(json.dumps(dict(
                    round=r, model=name,
                    first_token_s=round(s[0] - timer.start, 2),
                    other_steps_s=round(s[-1] - s[0], 2))), flush=True)


if __name__ == '__main__':
    main()
