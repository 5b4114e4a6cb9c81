"""Tiny benchmark sets in the official formats (LLaVA's eval.zip layout),
and configs that run a benchmark config with the shipped tiny model."""
import json
import os
import os.path as osp
from typing import List

import numpy as np
from mmengine.config import Config
from PIL import Image

from llava_mm.conversation import model_prompt_templates

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY_MODEL = osp.join(REPO, 'configs', '_base_', 'models',
                      'llava-tiny-shapes.py')
TINY_CHECKPOINT = osp.join(REPO, 'checkpoints', 'llava-tiny-shapes',
                           'llava-tiny-shapes-a01aa8b8.pth')
SHORT = '\nAnswer the question using a single word or phrase.'
LETTER = "\nAnswer with the option's letter from the given choices directly."


def image(path: str, seed: int = 0) -> str:
    """A small random RGB image file (format from the extension)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (int(rng.integers(20, 40)),
                                int(rng.integers(20, 40)), 3),
                       dtype=np.uint8)
    Image.fromarray(arr).save(path)
    return path


def dump_json(obj, path: str) -> str:
    """Write JSON, making the folder."""
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(obj, f)
    return path


def dump_jsonl(items: List[dict], path: str) -> str:
    """Write one JSON object per line, making the folder."""
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(''.join(json.dumps(x) + '\n' for x in items))
    return path


def tiny_config(bench_config: str, path: str, max_new_tokens: int = 6,
                batch_size: int = 8) -> str:
    """The benchmark config with the shipped tiny model in place of the 7B.

    Dataset, evaluator, task and prompt template stay those of
    ``bench_config``; the model, its image size and the generation length
    become the tiny model's.
    """
    cfg = Config.fromfile(bench_config)
    tiny = Config.fromfile(TINY_MODEL)
    model = tiny.model
    model.update(task=cfg.model.task,
                 prompt_tmpl=model_prompt_templates(cfg.model)[0],
                 generation_cfg=dict(max_new_tokens=max_new_tokens))
    cfg.model = model
    cfg.test_dataloader.update(batch_size=batch_size, num_workers=0)
    cfg.test_dataloader.dataset.pipeline = tiny.test_pipeline
    cfg.default_hooks.logger.interval = 1
    cfg.dump(path)
    return path


# ------------------------------------------------------------------ POPE
POPE_SPLITS = {  # split: [(image id, object, label)]
    'adversarial': [(1, 'dog', 'yes'), (2, 'chair', 'no')],
    'popular': [(1, 'cat', 'no'), (3, 'car', 'yes')],
    'random': [(3, 'bus', 'no'), (2, 'person', 'yes')],
}


def make_pope(root: str) -> dict:
    """``llava_pope_test.jsonl``, ``coco/coco_pope_<split>.json`` and
    ``val2014`` images, POPE ids numbered across the splits as in
    LLaVA's file."""
    questions, qid = [], 0
    for split, items in POPE_SPLITS.items():
        labels = []
        for image_id, obj, label in items:
            qid += 1
            name = f'COCO_val2014_{image_id:012d}.jpg'
            text = f'Is there a {obj} in the image?'
            questions.append(dict(question_id=qid, image=name,
                                  text=text + SHORT, category=split))
            labels.append(dict(question_id=len(labels) + 1, image=name,
                               text=text, label=label))
            image(osp.join(root, 'val2014', name), image_id)
        dump_jsonl(labels, osp.join(root, 'coco', f'coco_pope_{split}.json'))
    dump_jsonl(questions, osp.join(root, 'llava_pope_test.jsonl'))
    return dict(num_samples=qid)


# ------------------------------------------------------------------- MME
MME_IMAGES = [  # (subtask, image file, has an images/ folder, [(q, answer)])
    ('artwork', '10002.jpg', True,
     [('Is this artwork created by Monet?', 'Yes'),
      ('Is this artwork created by Turner?', 'No')]),
    ('artwork', '10049.jpg', True,
     [('Is this artwork titled Sunset?', 'No'),
      # MME has a few questions with two spaces before the instruction.
      ('Is this artwork titled Dawn? ', 'Yes')]),
    ('code_reasoning', '0020.png', False,
     [('Is a python code shown in the picture?', 'Yes'),
      ('Is a C++ code shown in the picture?', 'No')]),
    ('count', '000000006040.jpg', False,
     [('Is there a train in the picture?', 'Yes'),
      ('Are there two trains in the picture?', 'No')]),
]


def make_mme(root: str) -> dict:
    """``llava_mme.jsonl`` and ``MME_Benchmark_release_version`` (images
    and ``question<TAB>answer`` files, both folder layouts)."""
    release = osp.join(root, 'MME_Benchmark_release_version')
    questions = []
    for seed, (task, name, nested, qas) in enumerate(MME_IMAGES):
        stem = osp.splitext(name)[0]
        img = f'{task}/images/{name}' if nested else f'{task}/{name}'
        qa_dir = osp.join(release, task, 'questions_answers_YN'
                          if nested else '')
        image(osp.join(release, img), seed)
        os.makedirs(qa_dir, exist_ok=True)
        with open(osp.join(qa_dir, f'{stem}.txt'), 'w') as f:
            f.write(''.join(f'{q} Please answer yes or no.\t{a}\n'
                            for q, a in qas))
        for q, _ in qas:
            questions.append(dict(question_id=f'{task}/{name}', image=img,
                                  text=q.strip() + SHORT, category=task))
    dump_jsonl(questions, osp.join(root, 'llava_mme.jsonl'))
    return dict(num_samples=len(questions))


# ------------------------------------------------------------- ScienceQA
SQA_PROBLEMS = {  # pid: (question, hint, choices, answer, has image)
    '4': ('Which animal is a mammal?', 'Look at the picture.',
          ['frog', 'whale'], 1, True),
    '9': ('Which is a solid?', '', ['milk', 'rock', 'air'], 1, True),
    '12': ('What is 2 + 2?', '', ['3', '4'], 1, False),
    '20': ('Which colour is shown?', 'A paint sample.',
           ['red', 'blue', 'green', 'white'], 3, True),
}


def make_scienceqa(root: str) -> dict:
    """ScienceQA's ``problems.json``/``pid_splits.json``, LLaVA's
    ``llava_test_CQM-A.json`` and ``images/test/<pid>/image.png``."""
    problems, entries = {}, []
    for pid, (question, hint, choices, answer, has_image) in \
            SQA_PROBLEMS.items():
        problems[pid] = dict(question=question, hint=hint, choices=choices,
                             answer=answer, image='image.png'
                             if has_image else None, split='test')
        options = '\n'.join(f'{"ABCDE"[i]}. {c}'
                            for i, c in enumerate(choices))
        context = f'Context: {hint}\n' if hint else ''
        value = f'{context}{question}\n{options}'
        entry = dict(id=pid, conversations=[
            dict(value=value + ('\n<image>' if has_image else ''),
                 **{'from': 'human'}),
            dict(value=f'{"ABCDE"[answer]}', **{'from': 'gpt'})])
        if has_image:
            entry['image'] = f'{pid}/image.png'
            image(osp.join(root, 'images', 'test', pid, 'image.png'),
                  int(pid))
        entries.append(entry)
    dump_json(problems, osp.join(root, 'problems.json'))
    dump_json(dict(test=list(problems), val=[]),
              osp.join(root, 'pid_splits.json'))
    dump_json(entries, osp.join(root, 'llava_test_CQM-A.json'))
    return dict(num_samples=sum(p[-1] for p in SQA_PROBLEMS.values()))


# ------------------------------------------------------------------- GQA
GQA_QUESTIONS = [  # (question id, image, question, answer, structural)
    ('201307251', 'n161313', 'Is it overcast?', 'no', 'verify'),
    ('201640614', 'n235859', 'Who is wearing a dress?', 'woman', 'query'),
    ('20968412', 'n161313', 'Is the bag red or blue?', 'blue', 'choose'),
    ('202225914', 'n288870', 'What color is the sky?', 'blue', 'query'),
]


def make_gqa(root: str) -> dict:
    """LLaVA's ``llava_gqa_testdev_balanced.jsonl``, GQA's
    ``data/testdev_balanced_questions.json`` and ``data/images``."""
    gqa, questions = {}, []
    for k, (qid, img, question, answer, structural) in enumerate(
            GQA_QUESTIONS):
        gqa[qid] = dict(imageId=img, question=question, answer=answer,
                        fullAnswer=answer, isBalanced=True,
                        types=dict(structural=structural, semantic='attr',
                                   detailed='x'),
                        semantic=[], groups=dict(**{'global': None,
                                                   'local': 'x'}))
        questions.append(dict(question_id=qid, image=f'{img}.jpg',
                              text=question + SHORT, category='default'))
        image(osp.join(root, 'data', 'images', f'{img}.jpg'), k)
    dump_json(gqa, osp.join(root, 'data', 'testdev_balanced_questions.json'))
    dump_jsonl(questions, osp.join(root, 'llava_gqa_testdev_balanced.jsonl'))
    return dict(num_samples=len(questions))


# --------------------------------------------------------------- TextVQA
TEXTVQA = [  # (image id, question, OCR tokens, 10 answers, OCR line first)
    ('003a8ae2ef43b901', 'what is the brand of this camera?',
     ['dakota', 'digital'], ['dakota'] * 6 + ['Dakota Digital'] * 3 +
     ['dakota.'], False),
    ('003a8ae2ef43b901', 'what does the small white text say?',
     ['copenhagen'], ['copenhagen', 'Copenhagen', 'unanswerable'] +
     ['copenhagen'] * 7, False),
    ('00685bc495504d61', 'How many items are shown?', [],
     ['two', '2', '2', 'two items', 'Two', '2', '3', '2', 'two', '2.'],
     True),
]


def make_textvqa(root: str) -> dict:
    """LLaVA's ``llava_textvqa_val_v051_ocr.jsonl``, TextVQA's
    ``TextVQA_0.5.1_val.json`` and ``train_images``."""
    data, questions = [], []
    for k, (img, question, ocr, answers, ocr_first) in enumerate(TEXTVQA):
        data.append(dict(question=question, image_id=img, answers=answers,
                         question_id=34602 + k, set_name='val'))
        ocr_line = 'Reference OCR token: ' + ', '.join(ocr)
        lines = [ocr_line, question] if ocr_first else [question, ocr_line]
        questions.append(dict(question_id=img, image=f'{img}.jpg',
                              text='\n'.join(lines) + SHORT))
        image(osp.join(root, 'train_images', f'{img}.jpg'), k)
    dump_json(dict(dataset_type='test', dataset_name='textvqa', data=data),
              osp.join(root, 'TextVQA_0.5.1_val.json'))
    dump_jsonl(questions, osp.join(root, 'llava_textvqa_val_v051_ocr.jsonl'))
    return dict(num_samples=len(questions))


# ------------------------------------------------------------ SEED-Bench
SEED_TYPES = {'Scene Understanding': 1, 'Instance Identity': 2,
              'Action Recognition': 10}
SEED = [  # (question id, data type, type id, question, options, answer)
    ('101669', 'image', 1, 'What is the weather?',
     ['sunny', 'rainy', 'snowy', 'foggy'], 'A'),
    ('101670', 'image', 2, 'What is the object?',
     ['cup', 'dog', 'car', 'tree'], 'C'),
    ('1500', 'video', 10, 'What is the person doing?',
     ['running', 'sitting', 'eating', 'sleeping'], 'B'),
]


def make_seed(root: str) -> dict:
    """LLaVA's ``llava-seed-bench.jsonl``, SEED's ``SEED-Bench.json``,
    ``SEED-Bench-image`` and ``SEED-Bench-video-image`` (middle frames)."""
    anns, questions = [], []
    for k, (qid, kind, type_id, question, options, answer) in enumerate(
            SEED):
        data_id = f'{qid}.jpg' if kind == 'image' else f'v{qid}.mp4'
        anns.append(dict(question_id=qid, data_type=kind, data_id=data_id,
                         question_type_id=type_id, question=question,
                         answer=answer, **{f'choice_{c}': o for c, o in
                                           zip('abcd', options)}))
        img = (f'SEED-Bench-image/{qid}.jpg' if kind == 'image' else
               f'SEED-Bench-video-image/v{qid}.png')
        text = question + ''.join(f'\n{c}. {o}'
                                  for c, o in zip('ABCD', options))
        questions.append(dict(question_id=int(qid), image=img,
                              text=text + LETTER, category=kind))
        image(osp.join(root, img), k)
    dump_json(dict(question_type=SEED_TYPES, questions=anns),
              osp.join(root, 'SEED-Bench.json'))
    dump_jsonl(questions, osp.join(root, 'llava-seed-bench.jsonl'))
    return dict(num_samples=len(questions))


# ---------------------------------------------------------------- VizWiz
UNANSWERABLE = ("\nWhen the provided information is insufficient, respond "
                "with 'Unanswerable'.")
VIZWIZ = ['What is this?', 'What color is this shirt?', 'Is it cloudy?']


def make_vizwiz(root: str) -> dict:
    """LLaVA's ``llava_test.jsonl`` and ``test`` images (no answers)."""
    questions = []
    for k, question in enumerate(VIZWIZ):
        name = f'VizWiz_test_{k:08d}.jpg'
        questions.append(dict(question_id=k, image=name,
                              text=question + UNANSWERABLE + SHORT))
        image(osp.join(root, 'test', name), k)
    dump_jsonl(questions, osp.join(root, 'llava_test.jsonl'))
    return dict(num_samples=len(questions))


# --------------------------------------------------------------- MMBench
MMBENCH_COLUMNS = ['index', 'question', 'hint', 'A', 'B', 'C', 'D', 'answer',
                   'category', 'image', 'source', 'l2-category', 'comment',
                   'split']
MMBENCH = [  # (index, question, hint, options, answer)
    (0, 'What is the main object?', 'nan', ['cat', 'dog', 'bird', 'fish'],
     'B'),
    (1, 'Which color is the sky?', 'It is noon.', ['blue', 'red', '', ''],
     'A'),
    # A circular copy of question 0, options rotated, as MMBench ships.
    (1000000, 'What is the main object?', 'nan',
     ['dog', 'bird', 'fish', 'cat'], 'A'),
    (2, 'How many wheels, "roughly"?', '', ['two', 'four', 'six', 'None'],
     'B'),
]


def make_mmbench(root: str, with_answers: bool = True) -> dict:
    """An MMBench TSV (``mmbench_dev_20230712.tsv`` layout, images as
    base64 PNG) under ``root``."""
    import base64
    import csv
    import io
    os.makedirs(root, exist_ok=True)
    name = ('mmbench_dev_20230712.tsv' if with_answers else
            'mmbench_test_20230712.tsv')
    columns = [c for c in MMBENCH_COLUMNS if with_answers or c != 'answer']
    with open(osp.join(root, name), 'w', newline='', encoding='utf-8') as f:
        writer = csv.writer(f, delimiter='\t')
        writer.writerow(columns)
        for k, (index, question, hint, options, answer) in enumerate(
                MMBENCH):
            buf = io.BytesIO()
            Image.fromarray(np.random.default_rng(k % 1000).integers(
                0, 256, (24, 32, 3), dtype=np.uint8)).save(buf, 'PNG')
            row = dict(index=index, question=question, hint=hint,
                       answer=answer, category='object_localization',
                       image=base64.b64encode(buf.getvalue()).decode(),
                       source='x', comment='nan', split='dev',
                       **{'l2-category': 'FP-S'},
                       **dict(zip('ABCD', options)))
            writer.writerow([row[c] for c in columns])
    return dict(num_samples=len(MMBENCH), tsv=name)
