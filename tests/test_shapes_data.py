"""make_shapes.py (tiny_shapes project): deterministic COCO caption + VQAv2."""
import hashlib
import json
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
from mmengine.registry import init_default_scope
from PIL import Image
from transformers import AutoTokenizer

from llava_mm.registry import DATASETS
from projects.tiny_shapes.tiny_shapes.generator import (
    CAPTION_PROMPT,
    COLOURS,
    FAMILIES,
    KINDS,
    VQA_SUFFIX,
    make_shapes,
    question_family,
)
from projects.tiny_shapes.tiny_shapes.tokenizer import train_shapes_tokenizer

N = 12


def tree_digest(root: str) -> dict:
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                out[osp.relpath(path, root)] = hashlib.sha256(
                    f.read()).hexdigest()
    return out


@pytest.fixture(scope='module')
def shapes_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('shapes'))
    subprocess.run([sys.executable, 'projects/tiny_shapes/make_shapes.py',
                    '--out', root, '--split', 'val', '--num-images', str(N),
                    '--seed', '3', '--extra-per-family', '2'], check=True,
                   capture_output=True)
    return root


def test_same_seed_same_files(shapes_root, tmp_path):
    make_shapes(str(tmp_path / 'again'), N, seed=3, split='val',
                extra_per_family=2)
    make_shapes(str(tmp_path / 'other'), N, seed=4, split='val',
                extra_per_family=2)
    first = tree_digest(shapes_root)
    assert len(first) == N + 5 + len(FAMILIES)  # images, annotation files
    assert tree_digest(str(tmp_path / 'again')) == first
    other = tree_digest(str(tmp_path / 'other'))
    assert other.keys() == first.keys() and other != first


def test_caption_files(shapes_root):
    with open(osp.join(shapes_root, 'annotations', 'shapes_val.json')) as f:
        karpathy = json.load(f)
    with open(osp.join(shapes_root, 'annotations',
                       'shapes_val_gt.json')) as f:
        gt = json.load(f)
    assert [e['image_id'] for e in karpathy] == list(range(N))
    assert [im['id'] for im in gt['images']] == list(range(N))
    by_image = {}
    for ann in gt['annotations']:
        by_image.setdefault(ann['image_id'], []).append(ann['caption'])
    assert len({a['id'] for a in gt['annotations']}) == len(gt['annotations'])
    for e in karpathy:
        assert re.fullmatch(r'val/shapes_val_\d{12}\.png', e['image'])
        assert int(e['image'][-16:-4]) == e['image_id']
        img = Image.open(osp.join(shapes_root, e['image']))
        assert img.size == (64, 64) and img.mode == 'RGB'
        assert by_image[e['image_id']] == e['caption']
        canonical = e['caption'][0]
        assert canonical.startswith('a ') and canonical.endswith('.')
        named = re.findall(r'(small|large) (\w+) (\w+)', canonical)
        assert 1 <= len(named) <= 3
        for _, colour, kind in named:
            assert colour in COLOURS and kind in KINDS


def test_vqa_files(shapes_root):
    ann_dir = osp.join(shapes_root, 'annotations')
    with open(osp.join(ann_dir, 'shapes_val_questions.json')) as f:
        questions = json.load(f)['questions']
    with open(osp.join(ann_dir, 'shapes_val_annotations.json')) as f:
        answers = json.load(f)['annotations']
    assert len(questions) == len(answers) > N
    assert len({q['question_id'] for q in questions}) == len(questions)
    for q, a in zip(questions, answers):
        assert q['question_id'] == a['question_id']
        assert q['image_id'] == a['image_id'] and q['question'].endswith('?')
        assert len(a['answers']) == 10
        assert {x['answer'] for x in a['answers']} == {
            a['multiple_choice_answer']}
        assert a['answer_type'] in ('yes/no', 'number', 'other')
        if a['answer_type'] == 'yes/no':
            assert a['multiple_choice_answer'] in ('yes', 'no')
        if a['answer_type'] == 'number':
            assert a['multiple_choice_answer'].isdigit()


def test_family_files(tmp_path):
    """Every question is in the one-turn file of its family, once."""
    make_shapes(str(tmp_path), 40, seed=6, split='f')
    ann_dir = tmp_path / 'annotations'
    with open(ann_dir / 'shapes_f_questions.json') as f:
        questions = json.load(f)['questions']
    with open(ann_dir / 'shapes_f_annotations.json') as f:
        answers = {a['question_id']: a['multiple_choice_answer']
                   for a in json.load(f)['annotations']}
    seen = {}
    for family in FAMILIES:
        with open(ann_dir / f'shapes_f_llava_{family}.json') as f:
            for e in json.load(f):
                q, a = e['conversations']
                assert q['from'] == 'human' and a['from'] == 'gpt'
                assert q['value'].startswith('<image>\n')
                assert q['value'].endswith(VQA_SUFFIX)
                text = q['value'][len('<image>\n'):-len(VQA_SUFFIX)]
                assert question_family(text) == family
                seen[int(e['id'])] = (text, a['value'], e['image'])
    assert sorted(seen) == sorted(answers)
    for q in questions:
        text, answer, image = seen[q['question_id']]
        assert text == q['question'] and answer == answers[q['question_id']]
        assert image.endswith(f"_{q['image_id']:012d}.png")
    # all nine templates occur in 40 scenes
    assert {question_family(q['question']) for q in questions} == \
        set(FAMILIES)
    with pytest.raises(ValueError, match='not a shapes question'):
        question_family('What is this?')


def test_answers_match_the_pixels(tmp_path):
    """Colour questions are answered by what is drawn."""
    make_shapes(str(tmp_path), 6, seed=5, split='t')
    with open(tmp_path / 'annotations' / 'shapes_t_questions.json') as f:
        questions = json.load(f)['questions']
    with open(tmp_path / 'annotations' / 'shapes_t_annotations.json') as f:
        answers = json.load(f)['annotations']
    for q, a in zip(questions, answers):
        img = np.asarray(Image.open(
            tmp_path / 't' / f"shapes_t_{q['image_id']:012d}.png"))
        if q['question'].startswith('What colour'):
            rgb = np.array(COLOURS[a['multiple_choice_answer']])
            close = np.abs(img.astype(int) - rgb).sum(-1) < 30
            assert close.sum() >= 20, q


def test_readers_accept_the_files(shapes_root):
    """The COCOCaption / COCOVQA dataset types of the configs read them."""
    init_default_scope('llava_mm')
    cap = DATASETS.build(dict(
        type='COCOCaption', data_root=shapes_root,
        ann_file='annotations/shapes_val.json'))
    assert len(cap) == N
    assert osp.isfile(cap[0]['img_path']) and cap[0]['gt_caption']
    vqa = DATASETS.build(dict(
        type='COCOVQA', data_root=shapes_root, data_prefix='val',
        question_file='annotations/shapes_val_questions.json',
        ann_file='annotations/shapes_val_annotations.json'))
    item = vqa[0]
    assert osp.basename(item['img_path']) == \
        f"shapes_val_{item['image_id']:012d}.png"
    assert item['question'] and item['gt_answer']


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match='num_images'):
        make_shapes(str(tmp_path), 0, seed=0)
    with pytest.raises(ValueError, match='split'):
        make_shapes(str(tmp_path), 1, seed=0, split='a/b')



def test_llava_conversations_hold_the_same_data(shapes_root):
    """The LLaVA-format file repeats the caption and VQA files' content."""
    init_default_scope('llava_mm')
    conv = DATASETS.build(dict(
        type='LLaVAInstruct', data_root=shapes_root,
        ann_file='annotations/shapes_val_llava.json'))
    assert len(conv) == 2 * N  # one caption and one VQA entry per image
    with open(osp.join(shapes_root, 'annotations',
                       'shapes_val.json')) as f:
        caps = {e['image_id']: e['caption'][0] for e in json.load(f)}
    vqa = DATASETS.build(dict(
        type='COCOVQA', data_root=shapes_root, data_prefix='val',
        question_file='annotations/shapes_val_questions.json',
        ann_file='annotations/shapes_val_annotations.json'))
    want = {}
    for i in range(len(vqa)):
        info = vqa.get_data_info(i)
        want.setdefault(info['image_id'], set()).add(
            (info['question'], info['gt_answer'][0]))
    firsts, n_extra, n_checked = set(), 0, 0
    for i in range(len(conv)):
        info = conv.get_data_info(i)
        turns = info['conversation']
        assert osp.isfile(info['img_path'])
        if turns[0][0] == CAPTION_PROMPT:
            assert turns == [[CAPTION_PROMPT, caps[info['image_id']]]]
            continue
        # Every question has the short-answer instruction.
        assert all(q.endswith(VQA_SUFFIX) for q, _ in turns)
        pairs = [(q.replace(VQA_SUFFIX, ''), a) for q, a in turns]
        assert len(set(pairs)) == len(pairs)
        # Every evaluation question, plus extra questions by kind.
        assert want[info['image_id']] <= set(pairs)
        n_extra += len(pairs) - len(want[info['image_id']])
        for q, a in pairs:
            expected = answer_from_caption(q, caps[info['image_id']])
            assert expected in (a, None), (q, a, caps[info['image_id']])
            n_checked += expected is not None
        firsts.add(' '.join(turns[0][0].split()[:3]))
    assert n_extra >= 2 * N  # colour-of-kind, counts, presence
    assert n_checked >= 4 * N  # the by-kind answers agree with the captions
    assert len(firsts) >= 3  # questions are shuffled, not one family first


def answer_from_caption(question, caption):
    """The answer of a by-kind question, read from the caption (or None)."""
    shapes = re.findall(r'(small|large) (\w+) (\w+)', caption)
    m = re.fullmatch(r'What colour is the (\w+)\?', question)
    if m:
        return [c for _, c, k in shapes if k == m[1]][0]
    plurals = {k + ('es' if k.endswith('s') else 's'): k for k in KINDS}
    m = re.fullmatch(r'How many (\w+) are there\?', question)
    if m and m[1] in plurals:
        return str(sum(k == plurals[m[1]] for _, _, k in shapes))
    m = re.fullmatch(r'Is there a (\w+) (\w+)\?', question)
    if m:
        return 'yes' if (m[1], m[2]) in {(c, k) for _, c, k in shapes} \
            else 'no'
    return None


def test_no_extra_questions_by_default(tmp_path):
    paths = make_shapes(str(tmp_path), N, seed=3, split='val')
    with open(paths['llava']) as f:
        entries = json.load(f)
    with open(paths['questions']) as f:
        n_questions = len(json.load(f)['questions'])
    assert sum(len(e['conversations']) // 2 for e in entries
               if e['id'].endswith('_vqa')) == n_questions


def test_llava_file_errors_name_the_entry(tmp_path):
    init_default_scope('llava_mm')
    Image.new('RGB', (8, 8)).save(tmp_path / 'a_000000000007.png')

    def build(entries):
        (tmp_path / 'ann.json').write_text(json.dumps(entries))
        return DATASETS.build(dict(type='LLaVAInstruct',
                                   data_root=str(tmp_path),
                                   ann_file='ann.json'))

    ok = {'id': 'x', 'image': 'a_000000000007.png', 'conversations': [
        {'from': 'human', 'value': 'Describe it.\n<image>'},
        {'from': 'gpt', 'value': 'A black square.'}]}
    info = build([ok]).get_data_info(0)
    assert info['conversation'] == [['Describe it.', 'A black square.']]
    assert info['image_id'] == 7
    text_only = dict(ok, conversations=[
        {'from': 'human', 'value': 'Hi'}, {'from': 'gpt', 'value': 'Hello'}])
    with pytest.raises(ValueError, match=r"entry 1 \(id 'x'\).*text-only"):
        build([ok, text_only])
    swapped = dict(ok, conversations=ok['conversations'][::-1])
    with pytest.raises(ValueError, match='turn 0 must be a "human" turn'):
        build([swapped])
    with pytest.raises(FileNotFoundError, match='skip_missing'):
        build([dict(ok, image='missing.png')])


def test_shipped_tokenizer_is_what_make_shapes_trains(tmp_path):
    """What ``make_shapes.py --tokenizer-out`` runs rebuilds the shipped
    tokenizer."""
    shipped = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                       'checkpoints', 'llava-tiny-shapes', 'tokenizer')
    out = train_shapes_tokenizer(str(tmp_path / 'tok'), seed=0)
    ours, theirs = AutoTokenizer.from_pretrained(out), \
        AutoTokenizer.from_pretrained(shipped)
    assert ours.get_vocab() == theirs.get_vocab()
    text = ('A chat between a curious human and an artificial intelligence '
            'assistant. USER: <image>\nWhat colour is the circle?\n'
            'Answer the question using a single word or phrase. ASSISTANT:')
    assert ours(text).input_ids == theirs(text).input_ids
