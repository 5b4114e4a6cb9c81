"""A procedural "shapes" dataset in the COCO caption and VQAv2 file formats.

Every image holds 1-3 coloured shapes (circle, square, triangle, cross) of
two sizes on a plain dark background. Captions name the shapes from left to
right (``"a small red circle and a large blue square."``); questions ask
about colour, shape, count, presence and position, with answers a tiny model
can learn. The files use exactly the layouts of COCO Karpathy captions and of
the official VQAv2 question/annotation files, so the same dataset classes and
metrics read them. Generation is deterministic for a seed. The scenes and
their drawing are in :mod:`projects.tiny_shapes.tiny_shapes.scene`; this module
writes their text and the files.

Layout written under ``out`` for a split ``S``::

    S/shapes_S_000000000000.png ...        images (12-digit image id)
    annotations/shapes_S.json              [{image, caption: [..], image_id}]
    annotations/shapes_S_gt.json           COCO-format ground-truth captions
    annotations/shapes_S_questions.json    VQAv2 questions
    annotations/shapes_S_annotations.json  VQAv2 answers (10 per question)
    annotations/shapes_S_llava.json        the same captions and questions as
                                           LLaVA conversations (training)
    annotations/shapes_S_llava_F.json      each question of family ``F`` (see
                                           ``FAMILIES``) on its own, as a
                                           one-turn LLaVA conversation
"""
import json
import os
import os.path as osp
import re
from typing import Dict, List, Sequence, Tuple

import numpy as np

from llava_mm.constants import CAPTION_PROMPT
from llava_mm.constants import VQA_SHORT_ANSWER_SUFFIX as VQA_SUFFIX

from .scene import (  # noqa: F401
    BASE_SIZE,
    COLOURS,
    GRID,
    KINDS,
    SIZES,
    Shape,
    demo_scene,
    render_scene,
    sample_scene,
)

NUMBER_WORDS = {1: 'one', 2: 'two', 3: 'three'}
# Question families (the templates below), in the order they are tried.
FAMILIES = {
    'leftright': r'Is the \w+ on the left or the right\?',
    'position_colour': r'What colour is the shape on the (left|right)\?',
    'position_shape': r'What shape is on the (left|right)\?',
    'top_bottom': r'What shape is at the (top|bottom)\?',
    'colour': r'What colour is the \w+\?',
    'shape': r'What shape is the \w+ object\?',
    'count': r'How many shapes are there\?',
    'count_kind': r'How many \w+ are there\?',
    'presence': r'Is there a \w+ \w+\?',
}


def _join(names: List[str]) -> str:
    if len(names) == 1:
        return names[0]
    return ', '.join(names[:-1]) + ' and ' + names[-1]


def captions(shapes: Sequence[Shape]) -> List[str]:
    """Reference captions; the first (left to right) is the canonical one.

    Args:
        shapes (Sequence[Shape]): Shapes sorted left to right.

    Returns:
        list[str]: Three captions saying the same thing differently.
    """
    names = [f'a {s.name}' for s in shapes]
    body = _join(names)
    verb = 'is' if len(shapes) == 1 else 'are'
    return [f'{body}.', f'there {verb} {body}.',
            f'{NUMBER_WORDS[len(shapes)]} '
            f'shape{"s" if len(shapes) > 1 else ""}: {body}.']


def position_questions(shapes: Sequence[Shape]
                       ) -> List[Tuple[str, str, str]]:
    """Every unambiguous left/right/top/bottom question of a scene.

    Args:
        shapes (Sequence[Shape]): Shapes sorted left to right.

    Returns:
        list[tuple]: ``(question, answer, answer_type)``.
    """
    pos = []
    if len(shapes) >= 2:
        pos += [('What colour is the shape on the left?', shapes[0].colour,
                 'other'),
                ('What colour is the shape on the right?', shapes[-1].colour,
                 'other'),
                ('What shape is on the left?', shapes[0].kind, 'other'),
                ('What shape is on the right?', shapes[-1].kind, 'other')]
        by_y = sorted(shapes, key=lambda s: s.y)
        cell = BASE_SIZE / GRID
        if by_y[1].y - by_y[0].y >= cell / 2:
            pos.append(('What shape is at the top?', by_y[0].kind, 'other'))
        if by_y[-1].y - by_y[-2].y >= cell / 2:
            pos.append(('What shape is at the bottom?', by_y[-1].kind,
                        'other'))
    else:
        s = shapes[0]
        if abs(s.x - BASE_SIZE / 2) >= 4:
            side = 'left' if s.x < BASE_SIZE / 2 else 'right'
            pos.append((f'Is the {s.kind} on the left or the right?', side,
                        'other'))
    return pos


def question_family(question: str) -> str:
    """The family (template) of a shapes question.

    Args:
        question (str): A question as :func:`questions` writes it.

    Returns:
        str: A key of ``FAMILIES``.
    """
    for family, pattern in FAMILIES.items():
        if re.fullmatch(pattern, question):
            return family
    raise ValueError(f'{question!r} is not a shapes question.')


def lookup_questions(shapes: Sequence[Shape]
                     ) -> List[List[Tuple[str, str, str]]]:
    """The colour of each shape found by its kind, and the kind of each
    shape found by its colour (where that finds one shape).

    Args:
        shapes (Sequence[Shape]): Shapes sorted left to right.

    Returns:
        list[list[tuple]]: Two families of ``(question, answer, type)``.
    """
    kinds = [s.kind for s in shapes]
    colours = [s.colour for s in shapes]
    return [[(f'What colour is the {s.kind}?', s.colour, 'other')
             for s in shapes if kinds.count(s.kind) == 1],
            [(f'What shape is the {s.colour} object?', s.kind, 'other')
             for s in shapes if colours.count(s.colour) == 1]]


def count_question(shapes: Sequence[Shape],
                   kind: str) -> Tuple[str, str, str]:
    """"How many circles are there?" (zero included)."""
    plural = kind + ('es' if kind.endswith('s') else 's')
    return (f'How many {plural} are there?',
            str(sum(s.kind == kind for s in shapes)), 'number')


def presence_question(shapes: Sequence[Shape],
                      pair: Tuple[str, str]) -> Tuple[str, str, str]:
    """"Is there a red circle?" for a (colour, kind) pair."""
    present = {(s.colour, s.kind) for s in shapes}
    return (f'Is there a {pair[0]} {pair[1]}?',
            'yes' if tuple(pair) in present else 'no', 'yes/no')


def questions(shapes: Sequence[Shape], rng: np.random.Generator,
              max_questions: int = 4) -> List[Tuple[str, str, str]]:
    """Questions with one unambiguous answer each.

    Args:
        shapes (Sequence[Shape]): Shapes sorted left to right.
        rng (np.random.Generator): The random source.
        max_questions (int): At most this many (one per question family).

    Returns:
        list[tuple]: ``(question, answer, answer_type)`` with answer types
        ``'yes/no'``, ``'number'`` or ``'other'``.
    """
    fams = lookup_questions(shapes)
    fams.append([('How many shapes are there?', str(len(shapes)), 'number'),
                 count_question(shapes, str(rng.choice(KINDS)))])
    present = {(s.colour, s.kind) for s in shapes}
    s = shapes[int(rng.integers(len(shapes)))]
    if rng.random() < 0.5:
        q = (s.colour, s.kind)
    else:
        absent = [(c, k) for c in COLOURS for k in KINDS
                  if (c, k) not in present]
        # Half the absent pairs share the colour or the kind of a shape.
        near = [p for p in absent if p[0] == s.colour or p[1] == s.kind]
        pool = near if rng.random() < 0.5 else absent
        q = pool[int(rng.integers(len(pool)))]
    fams.append([presence_question(shapes, q)])
    fams.append(position_questions(shapes))
    chosen = [f[int(rng.integers(len(f)))] for f in fams if f]
    order = rng.permutation(len(chosen))[:max_questions]
    return [chosen[i] for i in sorted(order)]


def extra_questions(shapes: Sequence[Shape], rng: np.random.Generator,
                    per_family: int = 2) -> List[Tuple[str, str, str]]:
    """More training questions per image, up to ``per_family`` per family.

    The evaluation files ask one question per family; a training
    conversation can ask more. The families: the colour of a shape by its
    kind, the kind of a shape by its colour, how many of a kind (zero
    included), whether a (colour, kind) pair is there (yes, a "no" that
    shares the colour or the kind of a shape, any "no") and position.
    Captions name the colour before the kind, so on their own they teach a
    model to find a shape by its colour only; most of these ask by kind.

    Args:
        shapes (Sequence[Shape]): Shapes sorted left to right.
        rng (np.random.Generator): The random source.
        per_family (int): Questions drawn from each family.

    Returns:
        list[tuple]: ``(question, answer, answer_type)``.
    """
    kinds = [s.kind for s in shapes]
    colours = [s.colour for s in shapes]
    present = {(s.colour, s.kind) for s in shapes}
    absent = [(c, k) for c in COLOURS for k in KINDS if (c, k) not in present]
    near = [p for p in absent if p[0] in colours or p[1] in kinds]
    yes = sorted(present)[int(rng.integers(len(present)))]
    fams = lookup_questions(shapes) + [
        [count_question(shapes, k) for k in KINDS],
        [presence_question(shapes, p) for p in
         [yes, near[int(rng.integers(len(near)))],
          absent[int(rng.integers(len(absent)))]]],
        position_questions(shapes),
    ]
    out = []
    for fam in fams:
        pick = rng.permutation(len(fam))[:per_family]
        out += [fam[i] for i in sorted(pick)]
    return out


def _turns(pairs: Sequence[Tuple[str, str]]) -> List[dict]:
    """LLaVA turns of question/answer pairs, ``<image>`` in the first."""
    out = []
    for k, (q, a) in enumerate(pairs):
        image = '<image>\n' if k == 0 else ''
        out += [{'from': 'human', 'value': image + q},
                {'from': 'gpt', 'value': a}]
    return out


def llava_entries(rel: str, image_id: int, caption: str,
                  qas: Sequence[Tuple[str, str, str]],
                  rng: np.random.Generator,
                  extra: Sequence[Tuple[str, str, str]] = ()) -> List[dict]:
    """An image's caption and questions as LLaVA instruction entries.

    Two conversations, as in LLaVA-1.5's training mix: the caption (short-
    caption prompt) on its own, and all questions in a random order, each
    with the short-answer instruction, so every question is sometimes the
    first turn (the one inference asks).

    Args:
        rel (str): Image path relative to the dataset root.
        image_id (int): Image id.
        caption (str): The canonical caption.
        qas (Sequence[tuple]): ``(question, answer, answer_type)``.
        rng (np.random.Generator): Orders the questions.
        extra (Sequence[tuple]): More questions for the conversation only
            (those already in ``qas`` are left out).

    Returns:
        list[dict]: Entries of the official LLaVA JSON format.
    """
    entries = [dict(id=f'{image_id}_caption', image=rel,
                    conversations=_turns([(CAPTION_PROMPT, caption)]))]
    asked = {q for q, _, _ in qas}
    pairs = [(q, a) for q, a, _ in qas] + [
        (q, a) for q, a, _ in extra if q not in asked]
    if pairs:
        order = rng.permutation(len(pairs))
        entries.append(dict(
            id=f'{image_id}_vqa', image=rel,
            conversations=_turns([(pairs[i][0] + VQA_SUFFIX, pairs[i][1])
                                 for i in order])))
    return entries


def _question_type(question: str) -> str:
    return ' '.join(question.lower().rstrip('?').split()[:3])


def make_shapes(out: str,
                num_images: int,
                seed: int,
                split: str = 'train',
                image_size: int = BASE_SIZE,
                start_id: int = 0,
                extra_per_family: int = 0) -> Dict[str, str]:
    """Generate a split: images plus caption and VQA annotation files.

    Args:
        out (str): Dataset root (created if missing).
        num_images (int): Number of images.
        seed (int): Random seed; the same seed gives the same files.
        split (str): Split name used in file names (letters, digits, ``-``).
        image_size (int): Image side in pixels.
        start_id (int): First image id.
        extra_per_family (int): Questions per family of
            :func:`extra_questions` added to the LLaVA conversations
            (training; default none); the VQA files never hold them.

    Returns:
        dict: Paths of the written annotation files by kind (``caption``,
        ``caption_gt``, ``questions``, ``answers``, ``llava`` and
        ``llava_F`` for each question family ``F``).
    """
    if num_images < 1:
        raise ValueError(f'num_images must be >= 1, got {num_images}.')
    if not split or not all(c.isalnum() or c == '-' for c in split):
        raise ValueError(f'split must be letters, digits or "-" (it goes in '
                         f'file names), got {split!r}.')
    rng = np.random.default_rng(seed)
    turn_rng = np.random.default_rng([seed, 1])  # keeps rng's stream as is
    extra_rng = np.random.default_rng([seed, 2])
    os.makedirs(osp.join(out, split), exist_ok=True)
    os.makedirs(osp.join(out, 'annotations'), exist_ok=True)
    karpathy, gt_images, gt_anns, qs, anns, llava = [], [], [], [], [], []
    by_family = {family: [] for family in FAMILIES}
    for image_id in range(start_id, start_id + num_images):
        shapes, background = sample_scene(rng)
        rel = f'{split}/shapes_{split}_{image_id:012d}.png'
        render_scene(shapes, background, image_size).save(osp.join(out, rel))
        caps = captions(shapes)
        karpathy.append(dict(image=rel, caption=caps, image_id=image_id))
        gt_images.append(dict(id=image_id, file_name=osp.basename(rel)))
        for cap in caps:
            gt_anns.append(dict(image_id=image_id, id=len(gt_anns),
                                caption=cap))
        qas = questions(shapes, rng)
        extra = extra_questions(shapes, extra_rng, extra_per_family) \
            if extra_per_family else ()
        llava += llava_entries(rel, image_id, caps[0], qas, turn_rng, extra)
        for k, (q, a, atype) in enumerate(qas):
            qid = image_id * 10 + k
            qs.append(dict(image_id=image_id, question=q, question_id=qid))
            by_family[question_family(q)].append(dict(
                id=f'{qid}', image=rel,
                conversations=_turns([(q + VQA_SUFFIX, a)])))
            anns.append(dict(
                question_type=_question_type(q), multiple_choice_answer=a,
                answers=[dict(answer=a, answer_confidence='yes',
                              answer_id=i + 1) for i in range(10)],
                image_id=image_id, answer_type=atype, question_id=qid))
    info = dict(description=f'Synthetic shapes, split {split}, seed {seed}',
                version='1.0')
    files = {
        'caption': (f'shapes_{split}.json', karpathy),
        'caption_gt': (f'shapes_{split}_gt.json',
                       dict(info=info, images=gt_images,
                            annotations=gt_anns, type='captions')),
        'questions': (f'shapes_{split}_questions.json',
                      dict(info=info, task_type='Open-Ended',
                           data_type='shapes', data_subtype=split,
                           questions=qs)),
        'answers': (f'shapes_{split}_annotations.json',
                    dict(info=info, data_type='shapes', data_subtype=split,
                         annotations=anns)),
        'llava': (f'shapes_{split}_llava.json', llava),
    }
    for family, entries in by_family.items():
        files[f'llava_{family}'] = (f'shapes_{split}_llava_{family}.json',
                                    entries)
    paths = {}
    for key, (name, obj) in files.items():
        paths[key] = osp.join(out, 'annotations', name)
        with open(paths[key], 'w') as f:
            json.dump(obj, f)
    return paths
