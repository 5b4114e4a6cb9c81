"""The real job end to end: tools/test.py against a plain transformers loop.

A COCO-format caption set of ``--images`` square JPEGs is written, then the
same weights (the benchmark preset's random checkpoint and its llava-hf
export), images, prompt and caption length run two ways, each in its own
process, timed from process start to exit:

- ours: ``python tools/test.py CONFIG CHECKPOINT`` (mmengine Runner,
  dataloader, ``init_model`` with its default ``engine``, the
  COCOCaption metric);
- transformers: ``LlavaForConditionalGeneration`` with its
  ``LlavaProcessor``, batches of ``--batch-size``, the same pycocoevalcap
  scorers on its captions.

    python tools/analysis_tools/e2e_benchmark.py --preset small \
        --images 32 --out work_dirs/e2e.json

The images are square, so our pad-to-square step is a no-op and both
pipelines see the same pixels up to their resize kernels. One untimed
``init_model`` first builds what the engine compiles once per
machine (the bf16 gemv kernel). Each
side's time is split into start-up and exit, prediction and scoring
(``ours_detail``, ``hf_detail``).
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import List, Optional

import numpy as np

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))
sys.path.insert(0, HERE)  # the llava_bench harness

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('--preset', choices=['tiny', 'small'], default='small')
    p.add_argument('--work-dir', default='work_dirs/bench')
    p.add_argument('--dtype', choices=['auto', 'fp32', 'bf16'],
                   default='auto', help='auto: bf16 where the CPU has '
                   'native bf16 matmuls, else fp32')
    p.add_argument('--images', type=int, default=32)
    p.add_argument('--batch-size', type=int, default=8)
    p.add_argument('--new-tokens', type=int, default=16,
                   help='tokens per caption, both sides (EOS ignored)')
    p.add_argument('--rounds', type=int, default=1,
                   help='runs of each side, alternating; best kept')
    p.add_argument('--out', default=None, help='JSON results file')
    p.add_argument('--cfg-options', nargs='+', default=[],
                   help="ours: tools/test.py's --cfg-options, e.g. "
                   'test_dataloader.num_workers=2')
    p.add_argument('--hf-child', nargs=2, metavar=('HF_DIR', 'DATA_DIR'),
                   help=argparse.SUPPRESS)
    return p.parse_args(argv)


def make_caption_set(root: str, n: int, size: int) -> dict:
    """``n`` square images, a Karpathy-format list and a COCO GT file."""
    from PIL import Image
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    items, gt = [], dict(images=[], annotations=[])
    for i in range(n):
        rng = np.random.default_rng(i)
        # Smooth colour fields (noise compresses badly and is unlike
        # photos), upsampled to the model's size.
        small = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize((size + 64, size + 64),
                                            Image.BICUBIC)
        name = f'images/{i:06d}.jpg'
        img.save(osp.join(root, name), quality=90)
        refs = [f'a picture with {i % 7 + 1} colour patches',
                'a blurred image of coloured shapes']
        items.append(dict(image=name, caption=refs, image_id=i))
        gt['images'].append(dict(id=i))
        gt['annotations'] += [dict(image_id=i, id=2 * i + k, caption=c)
                              for k, c in enumerate(refs)]
    paths = dict(ann_file=osp.join(root, 'annotations', 'captions.json'),
                 gt_file=osp.join(root, 'annotations', 'captions_gt.json'))
    for key, obj in (('ann_file', items), ('gt_file', gt)):
        with open(paths[key], 'w') as f:
            json.dump(obj, f)
    return paths


def write_test_config(cfg, data_dir: str, paths: dict, batch_size: int,
                      new_tokens: int, out: str) -> str:
    """The benchmark model on the repo's caption dataset/runtime bases."""
    from mmengine.config import Config
    base = Config.fromfile(osp.join(REPO, 'configs', 'llava',
                                    'llava-7b-v1.5_caption.py'))
    base.model = cfg.model
    base.model.generation_cfg = dict(max_new_tokens=new_tokens,
                                     min_new_tokens=new_tokens,
                                     num_beams=1, do_sample=False)
    base.test_pipeline = cfg.test_pipeline
    base.test_dataloader.batch_size = batch_size
    base.test_dataloader.dataset.update(
        data_root=data_dir, ann_file=osp.relpath(paths['ann_file'],
                                                 data_dir),
        pipeline=cfg.test_pipeline)
    base.test_evaluator.ann_file = paths['gt_file']
    base.dump(out)
    return out


def hf_dir_with_processor(cfg, hf_dir: str, out_dir: str) -> str:
    """The llava-hf export plus a ``LlavaProcessor`` for its tokenizer.

    The benchmark tokenizer gets ``<image>`` as an added token; the config
    copy points ``image_token_id`` at it (the weights are linked).
    """
    from transformers import (
        AutoTokenizer,
        CLIPImageProcessor,
        LlavaConfig,
        LlavaProcessor,
    )
    os.makedirs(out_dir, exist_ok=True)
    for name in os.listdir(hf_dir):
        if name.endswith(('.safetensors', '.json')) and \
                name != 'config.json' and \
                not osp.exists(osp.join(out_dir, name)):
            os.symlink(osp.abspath(osp.join(hf_dir, name)),
                       osp.join(out_dir, name))
    tok = AutoTokenizer.from_pretrained(cfg.model.tokenizer.name_or_path)
    tok.add_tokens(['<image>'], special_tokens=True)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = 'left'
    size = cfg.model.vision_encoder.img_size
    image_processor = CLIPImageProcessor(
        size={'shortest_edge': size}, crop_size={'height': size,
                                                 'width': size},
        image_mean=CLIP_MEAN, image_std=CLIP_STD)
    LlavaProcessor(image_processor=image_processor, tokenizer=tok,
                   patch_size=cfg.model.vision_encoder.patch_size,
                   vision_feature_select_strategy='default',
                   num_additional_image_tokens=1).save_pretrained(out_dir)
    config = LlavaConfig.from_pretrained(hf_dir)
    config.architectures = ['LlavaForConditionalGeneration']
    config.image_token_id = tok.convert_tokens_to_ids('<image>')
    config.pad_token_id = tok.pad_token_id
    config.save_pretrained(out_dir)
    return out_dir


def score(preds: dict, gt_file: str) -> dict:
    """BLEU, METEOR, ROUGE-L and CIDEr with pycocoevalcap's scorers."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer
    with open(gt_file) as f:
        anns = json.load(f)['annotations']
    refs = {}
    for a in anns:
        refs.setdefault(a['image_id'], []).append(dict(caption=a['caption']))
    tok = PTBTokenizer()
    gts = tok.tokenize({k: refs[k] for k in preds})
    res = tok.tokenize({k: [dict(caption=v)] for k, v in preds.items()})
    out = {}
    for scorer, names in ((Bleu(4), [f'Bleu_{i}' for i in range(1, 5)]),
                          (Meteor(), ['METEOR']), (Rouge(), ['ROUGE_L']),
                          (Cider(), ['CIDEr'])):
        value, _ = scorer.compute_score(gts, res)
        for name, v in zip(names, np.atleast_1d(value)):
            out[name] = float(v)
    return out


def hf_caption_inputs(processor, data_dir: str, items: List[dict],
                      prompt: str) -> dict:
    """The processor's batch for ``items`` of the caption set.

    Args:
        processor (LlavaProcessor): The export's processor.
        data_dir (str): The caption set (see :func:`make_caption_set`).
        items (list[dict]): Entries of its ``captions.json``.
        prompt (str): The caption prompt, the same for every image.

    Returns:
        dict: ``input_ids``, ``attention_mask`` and ``pixel_values``.
    """
    from PIL import Image
    images = [Image.open(osp.join(data_dir, it['image'])).convert('RGB')
              for it in items]
    return processor(images=images, text=[prompt] * len(items),
                     return_tensors='pt', padding=True)


def hf_child(hf_dir: str, data_dir: str, batch_size: int,
             new_tokens: int, dtype: str, prompt: str) -> dict:
    """The plain transformers loop (run in its own process)."""
    import torch
    from transformers import AutoProcessor, LlavaForConditionalGeneration
    start = time.perf_counter()
    processor = AutoProcessor.from_pretrained(hf_dir)
    model = LlavaForConditionalGeneration.from_pretrained(
        hf_dir, dtype={'bf16': torch.bfloat16,
                       'fp32': torch.float32}[dtype]).eval()
    loaded = time.perf_counter()
    with open(osp.join(data_dir, 'annotations', 'captions.json')) as f:
        items = json.load(f)
    preds = {}
    for i in range(0, len(items), batch_size):
        chunk = items[i:i + batch_size]
        inputs = hf_caption_inputs(processor, data_dir, chunk, prompt)
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=new_tokens,
                                 min_new_tokens=new_tokens, do_sample=False,
                                 num_beams=1)
        texts = processor.batch_decode(out[:, inputs['input_ids'].shape[1]:],
                                       skip_special_tokens=True)
        preds.update({it['image_id']: t.strip()
                      for it, t in zip(chunk, texts)})
    looped = time.perf_counter()
    metrics = score(preds, osp.join(data_dir, 'annotations',
                                    'captions_gt.json'))
    return dict(load_s=loaded - start, loop_s=looped - loaded,
                metric_s=time.perf_counter() - looped, metrics=metrics,
                captions=len(preds))


def ours_detail(work_dir: str, wall: float) -> dict:
    """Where our run's time went, from the lines the test loop logs."""
    import glob
    import re
    with open(sorted(glob.glob(osp.join(work_dir, '2*', '2*.log')))[-1]) as f:
        log = f.read()
    predict = float(re.search(r'Predicted \d+ samples in ([\d.]+) s',
                              log).group(1))
    metric = float(re.search(r'Scored in ([\d.]+) s', log).group(1))
    return dict(predict_s=predict, metric_s=metric,
                start_and_exit_s=round(wall - predict - metric, 2))


def _timed_run(cmd: List[str], env: dict) -> tuple:
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env,
                         cwd=REPO)
    wall = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f'{" ".join(cmd)} failed:\n{out.stderr[-3000:]}')
    return wall, out.stdout


def main(argv: Optional[List[str]] = None) -> dict:
    """Run both sides and report images/s and their ratio.

    Args:
        argv (list[str], optional): Arguments (default: ``sys.argv``).

    Returns:
        dict: The results (also written to ``--out``).
    """
    args = parse_args(argv)
    from llava_bench.checkpoints import benchmark_config
    from llava_bench.runner import machine_info, prepare

    from llava_mm import init_model
    from llava_mm.ops.cpu import native_bf16_matmul
    dtype = args.dtype
    if dtype == 'auto':
        dtype = 'bf16' if native_bf16_matmul() else 'fp32'
    if args.hf_child:
        cfg = benchmark_config(args.preset, osp.join(args.work_dir,
                                                     'tokenizer'))
        prompt = _prompt(cfg)
        print(json.dumps(hf_child(*args.hf_child, args.batch_size,
                                  args.new_tokens, dtype, prompt)))
        return {}
    cfg, _, ckpt, hf_dir = prepare(args.preset, args.work_dir, dtype)
    root = osp.join(args.work_dir, f'e2e_{args.preset}_{args.images}')
    paths = make_caption_set(root, args.images,
                             cfg.model.vision_encoder.img_size)
    config = write_test_config(cfg, root, paths, args.batch_size,
                               args.new_tokens,
                               osp.join(root, 'test_config.py'))
    hf_proc = hf_dir_with_processor(cfg, hf_dir, hf_dir + '_processor')
    # A first load builds what the engine compiles once per machine (the
    # gemv kernel), so that no timed run includes the build.
    init_model(config, ckpt, device='cpu', dtype=dtype)
    with open(osp.join(root, 'prompt.txt'), 'w') as f:  # for vllm_peer.py
        f.write(_prompt(cfg))
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (REPO, env.get('PYTHONPATH')) if p)
    ours_cmd = [sys.executable, 'tools/test.py', config, ckpt, '--dtype',
                dtype] + (['--cfg-options', *args.cfg_options]
                          if args.cfg_options else []) + ['--work-dir']
    hf_cmd = [sys.executable, osp.abspath(__file__), '--preset',
              args.preset, '--work-dir', args.work_dir, '--dtype', dtype,
              '--batch-size', str(args.batch_size), '--new-tokens',
              str(args.new_tokens), '--hf-child', hf_proc, root]
    res = dict(machine=machine_info(), config=dict(
        preset=args.preset, dtype=dtype, images=args.images,
        batch_size=args.batch_size, new_tokens=args.new_tokens,
        rounds=args.rounds, ours_command=' '.join(ours_cmd)))
    ours, hf = [], []
    for r in range(args.rounds):
        work = osp.join(root, f'work_{time.strftime("%Y%m%d_%H%M%S")}_{r}')
        wall, _ = _timed_run(ours_cmd + [work], env)
        ours.append(wall)
        res['ours_detail'] = ours_detail(work, wall)
        wall, stdout = _timed_run(hf_cmd, env)
        hf.append(wall)
        res['hf_detail'] = json.loads(stdout.strip().splitlines()[-1])
        res['hf_detail']['start_and_exit_s'] = round(wall - sum(
            res['hf_detail'][k] for k in ('load_s', 'loop_s', 'metric_s')),
            2)
    res['ours'] = dict(wall_s_all=[round(w, 2) for w in ours],
                       images_per_s=args.images / min(ours))
    res['hf'] = dict(wall_s_all=[round(w, 2) for w in hf],
                     images_per_s=args.images / min(hf))
    res['ratio'] = round(res['ours']['images_per_s'] /
                         res['hf']['images_per_s'], 3)
    res['targets'] = {'e2e_1.2x': res['ratio'] >= 1.2}
    res['machine']['loadavg_end'] = os.getloadavg()[0]
    res['command'] = ' '.join(['python', 'tools/analysis_tools/'
                               'e2e_benchmark.py'] +
                              (sys.argv[1:] if argv is None else argv))
    print(json.dumps({k: res[k] for k in ('ours', 'hf', 'ratio',
                                          'ours_detail', 'hf_detail')}))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(res, f, indent=1)
    return res


def _prompt(cfg) -> str:
    """The caption prompt as text, as our model formats it."""
    from llava_mm.conversation import model_prompt_templates
    m = cfg.model
    prompt_tmpl = model_prompt_templates(m)[0]
    return prompt_tmpl.replace('{question}', m.caption_prompt)


if __name__ == '__main__':
    main()
