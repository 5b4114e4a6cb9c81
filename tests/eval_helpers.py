"""Tiny COCO-caption and VQAv2 sets, a tiny checkpoint and a config, made
offline, plus a runner for tools/test.py (single process or torchrun)."""
import importlib.util
import json
import os
import os.path as osp
import socket
import subprocess
import sys
import time
import uuid
from typing import List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config
from PIL import Image

from llava_mm import init_model
from tiny import tiny_llava_model_cfg, tiny_test_pipeline

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
BASE = osp.join(REPO, 'configs', '_base_')
IMG = 28
VOCAB = 300


def make_images(img_dir: str, ids: Sequence[int], name_fmt: str) -> None:
    """Random small images named by ``name_fmt.format(id)``."""
    os.makedirs(img_dir, exist_ok=True)
    for image_id in ids:
        rng = np.random.default_rng(image_id)
        h, w = int(rng.integers(24, 48)), int(rng.integers(24, 48))
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        Image.fromarray(img).save(osp.join(img_dir, name_fmt.format(image_id)))


def make_caption_set(root: str, ids: Sequence[int] = (1, 2, 3, 5, 8),
                     animal: str = 'cats') -> dict:
    """Images, a Karpathy-format list and a COCO-format GT file (``animal``
    in the captions: another word gives another data set, same ids)."""
    make_images(osp.join(root, 'val2014'), ids,
                'COCO_val2014_{:012d}.jpg')
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    refs = {i: [f'a photo of {i} {animal} on a blanket',
                f'a dog sitting next to {i} windows {animal}'] for i in ids}
    karpathy = [dict(image=f'val2014/COCO_val2014_{i:012d}.jpg',
                     caption=refs[i], image_id=i) for i in ids]
    gt = dict(images=[dict(id=i) for i in ids],
              annotations=[dict(image_id=i, id=10 * i + k, caption=c)
                           for i in ids for k, c in enumerate(refs[i])])
    paths = dict(ann_file=osp.join(root, 'annotations', 'karpathy.json'),
                 gt_file=osp.join(root, 'annotations', 'karpathy_gt.json'))
    _dump(karpathy, paths['ann_file'])
    _dump(gt, paths['gt_file'])
    return dict(refs=refs, **paths)


VQA_QUESTIONS = [  # (image_id, question_id, question, answer_type)
    (1, 1000, 'What colour is the square on the left?', 'other'),
    (1, 1001, 'How many objects are there?', 'number'),
    (2, 2000, 'Is there a red circle?', 'yes/no'),
    (3, 3000, 'What is in the image?', 'other'),
    (4, 4000, 'How many objects are there?', 'number'),
    (4, 4001, 'Is there a red circle?', 'yes/no'),
    (6, 6000, 'What is in the image?', 'other'),
]


def make_vqa_set(root: str) -> dict:
    """Images named ``shapes_<12-digit id>.png`` and a questions file."""
    make_images(osp.join(root, 'images'), sorted(
        {q[0] for q in VQA_QUESTIONS}), 'shapes_{:012d}.png')
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    questions = dict(questions=[
        dict(image_id=i, question_id=q, question=text)
        for i, q, text, _ in VQA_QUESTIONS])
    paths = dict(
        question_file=osp.join(root, 'annotations', 'questions.json'),
        ann_file=osp.join(root, 'annotations', 'annotations.json'))
    _dump(questions, paths['question_file'])
    return paths


def write_vqa_annotations(path: str, answers: List[List[str]]) -> None:
    """The annotations file with the given 10 answers per question."""
    anns = [dict(question_id=q, image_id=i, answer_type=t,
                 question_type='what', multiple_choice_answer=a[0],
                 answers=[dict(answer=x, answer_confidence='yes',
                               answer_id=k + 1) for k, x in enumerate(a)])
            for (i, q, _, t), a in zip(VQA_QUESTIONS, answers)]
    _dump(dict(annotations=anns), path)


def make_checkpoint(path: str, tokenizer_dir: str, task: str) -> dict:
    """A random tiny LLaVA saved as an OpenMMLab state dict.

    The output head is scaled so greedy decoding is decided by margins far
    above the float noise of different batch compositions.

    Returns:
        dict: The model config.
    """
    model_cfg = tiny_llava_model_cfg(tokenizer_dir, VOCAB, img_size=IMG,
                                     task=task)
    model_cfg['generation_cfg'] = dict(max_new_tokens=4)
    # A short prompt: mmengine formats the config with yapf several times
    # per run, ~1 s each for the long system prompt.
    model_cfg['prompt_tmpl'] = 'USER: <image>\n{question} ASSISTANT:'
    torch.manual_seed(0)
    model = init_model(Config(dict(model=model_cfg)), device='cpu')
    with torch.no_grad():
        model.lang_encoder.lm_head.weight.mul_(30)
    torch.save(model.state_dict(), path)
    return model_cfg


def write_config(path: str, dataset_base: str, model_cfg: dict,
                 pipeline: Optional[list] = None, **overrides) -> str:
    """A config on the repo's dataset/runtime bases with the tiny model
    (and ``pipeline``, by default the tiny v1.5 test pipeline)."""
    cfg = dict(
        _base_=[osp.join(BASE, 'datasets', dataset_base),
                osp.join(BASE, 'default_runtime.py')],
        model=model_cfg,
        default_hooks=dict(logger=dict(interval=1)),
        **overrides)
    cfg['test_dataloader'].update(
        batch_size=2, num_workers=0,
        dataset=dict(cfg['test_dataloader'].get('dataset', {}),
                     pipeline=pipeline or tiny_test_pipeline(IMG)))
    with open(path, 'w') as f:
        f.write(''.join(f'{k} = {v!r}\n' for k, v in cfg.items()))
    return path


def make_vqa_eval(root: str, tokenizer_dir: str) -> dict:
    """The VQA set (every answer "yes"), a tiny VQA checkpoint and its
    config under ``root``.

    Returns:
        dict: ``config``, ``ckpt``, ``question_file`` and ``ann_file``.
    """
    paths = make_vqa_set(osp.join(root, 'data'))
    write_vqa_annotations(paths['ann_file'], [['yes'] * 10] * 7)
    ckpt = osp.join(root, 'tiny_vqa.pth')
    config = write_config(
        osp.join(root, 'tiny_vqa.py'), 'coco_vqa.py',
        make_checkpoint(ckpt, tokenizer_dir, 'vqa'),
        test_dataloader=dict(dataset=dict(
            data_root=osp.join(root, 'data'), data_prefix='images',
            question_file=paths['question_file'],
            ann_file=paths['ann_file'])))
    return dict(config=config, ckpt=ckpt, **paths)


def free_port() -> int:
    """An unused TCP port for torchrun."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_test_py(config: str, checkpoint: str, work_dir: str,
                *extra: str, cfg_options: Sequence[str] = (), nproc: int = 1,
                check: bool = True) -> subprocess.CompletedProcess:
    """Run tools/test.py in a new process (nproc > 1: dist_test.sh)."""
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1',
               HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1')
    args = [config, checkpoint, '--work-dir', work_dir, *extra]
    if cfg_options:
        args += ['--cfg-options', *cfg_options]
    if nproc == 1:
        cmd = [sys.executable, osp.join(REPO, 'tools', 'test.py'), *args]
    else:
        env.update(PYTHON=sys.executable, PORT=str(free_port()))
        cmd = ['bash', osp.join(REPO, 'tools', 'dist_test.sh'), args[0],
               args[1], str(nproc), *args[2:]]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True,
                          timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f'{cmd} failed ({proc.returncode}):\n'
                             f'{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}')
    return proc


_last_start = [0.0]


def run_test_main(config: str, checkpoint: str, work_dir: str,
                  *extra: str, cfg_options: Sequence[str] = ()) -> dict:
    """Run tools/test.py's main() in this process (no import cost).

    Each run gets its own experiment name (mmengine keys loggers and
    visualizers by it) and starts in a new second (log folders are named
    by the second).

    Returns:
        dict: The metrics.
    """
    spec = importlib.util.spec_from_file_location(
        'llava_mm_tools_test', osp.join(REPO, 'tools', 'test.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    while int(time.time()) == int(_last_start[0]):
        time.sleep(0.05)
    _last_start[0] = time.time()
    options = [f'experiment_name=run{uuid.uuid4().hex[:8]}', *cfg_options]
    return module.main([config, checkpoint, '--work-dir', work_dir, *extra,
                        '--cfg-options', *options])


def read_jsonl_records(work_dir: str) -> List[dict]:
    """All prediction records of all ranks' files (headers left out)."""
    records = []
    for name in sorted(os.listdir(work_dir)):
        if name.startswith('predictions_rank') and name.endswith('.jsonl'):
            with open(osp.join(work_dir, name)) as f:
                lines = [json.loads(x) for x in f.read().splitlines()]
            assert 'header' in lines[0]
            records += lines[1:]
    return records


def load_json(path: str) -> Optional[object]:
    """Read a JSON file."""
    with open(path) as f:
        return json.load(f)


def _dump(obj, path: str) -> None:
    with open(path, 'w') as f:
        json.dump(obj, f)
