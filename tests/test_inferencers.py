"""The caption and VQA inferencers, inference_model and tools/inference.py,
on the shipped shapes model."""
import importlib.util
import json
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.infer import BaseInferencer
from mmengine.registry import INFERENCERS as MMENGINE_INFERENCERS
from PIL import Image

from llava_mm import (
    ImageCaptionInferencer,
    VisualQuestionAnsweringInferencer,
    get_model,
    inference_model,
    list_models,
)
from llava_mm.apis import inference as inference_api
from llava_mm.models import loading
from llava_mm.registry import INFERENCERS
from projects.tiny_shapes.tiny_shapes.scene import render_scene, sample_scene

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(ROOT, 'demo', 'shapes.png')
CAPTION, VQA = 'llava-tiny-shapes_caption', 'llava-tiny-shapes_vqa'
# Different lengths, so a batch of them is left-padded.
QUESTIONS = ['How many shapes are there?',
             'What shape is the red object?',
             'Is there a circle?',
             'What colour is the shape on the right of the image?']


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    """demo/shapes.png and three generated scenes, in a directory that also
    holds a file that is not an image."""
    root = tmp_path_factory.mktemp('images')
    paths = [str(root / 'a_demo.png')]
    Image.open(DEMO).save(paths[0])
    for seed in range(3):
        shapes, background = sample_scene(np.random.default_rng(seed))
        paths.append(str(root / f'scene{seed}.png'))
        render_scene(shapes, background, 96).save(paths[-1])
    (root / 'notes.txt').write_text('not an image')
    return paths


@pytest.fixture(scope='module')
def captioner():
    return INFERENCERS.build(dict(type='ImageCaptionInferencer',
                                  model=CAPTION, device='cpu'))


@pytest.fixture(scope='module')
def vqa():
    return VisualQuestionAnsweringInferencer(VQA, device='cpu')


def test_registry_builds_by_name(captioner):
    assert INFERENCERS.scope == 'llava_mm'
    assert INFERENCERS.parent is MMENGINE_INFERENCERS
    assert isinstance(captioner, BaseInferencer)
    assert captioner.model.task == 'caption'
    out = captioner(DEMO)
    assert out == [inference_model(captioner.model, DEMO, max_new_tokens=32)]
    assert 'small red circle' in out[0]['pred_caption']
    json.dumps(out)


def test_caption_batch_equals_one_by_one(captioner, images):
    alone = [captioner(p)[0] for p in images]
    assert len({a['pred_caption'] for a in alone}) == len(images)
    # 4 images in batches of 3: a full and a partial batch.
    assert captioner(images, batch_size=3) == alone
    # A directory: its image files (sorted), the text file skipped.
    assert captioner(osp.dirname(images[0]), batch_size=2) == alone
    # Arrays and PIL images give what their files give.
    mixed = [np.asarray(Image.open(images[0])), Image.open(images[1]),
             images[2], images[3]]
    assert captioner(mixed, batch_size=4) == alone


def test_vqa_batch_equals_one_by_one(vqa, images):
    model = vqa.model
    lengths = {len(model.tokenize_prompt(model.format_prompt(q)))
               for q in QUESTIONS}
    assert len(lengths) == len(QUESTIONS)  # the batch really is padded
    alone = [vqa(img, q)[0] for img, q in zip(images, QUESTIONS)]
    batched = vqa(images, QUESTIONS, batch_size=4)
    assert batched == alone
    assert [r['question'] for r in batched] == QUESTIONS
    as_dicts = vqa([dict(image=i, question=q)
                    for i, q in zip(images, QUESTIONS)], batch_size=3)
    assert as_dicts == alone


def test_progress_bar_only_for_several_batches(captioner, capsys):
    captioner([DEMO, DEMO], batch_size=2, max_new_tokens=2)
    assert 'Inference' not in capsys.readouterr().err
    captioner([DEMO, DEMO], batch_size=1, max_new_tokens=2)
    assert 'Inference' in capsys.readouterr().err


def test_vqa_one_image_many_questions(vqa):
    out = vqa(DEMO, QUESTIONS[:2], batch_size=2)
    assert out == [{'question': QUESTIONS[0], 'pred_answer': '2'},
                   {'question': QUESTIONS[1], 'pred_answer': 'circle'}]
    assert inference_model(vqa.model, DEMO, QUESTIONS[:2]) == out
    assert inference_model(vqa.model, DEMO, QUESTIONS[1]) == out[1]


def test_vqa_input_errors(vqa, images):
    with pytest.raises(ValueError, match='4 images and 2 questions'):
        vqa(images, QUESTIONS[:2])
    with pytest.raises(ValueError, match='needs questions'):
        vqa(images)
    with pytest.raises(ValueError, match='needs "image"'):
        vqa([dict(img_path=DEMO, question='Why?')])
    with pytest.raises(ValueError, match='non-empty string'):
        vqa(DEMO, ['How many shapes are there?', ''])
    with pytest.raises(ValueError, match='not both'):
        vqa([dict(image=DEMO, question='Why?')], 'Why?')


def test_wrong_task_is_refused(vqa):
    with pytest.raises(ValueError, match='Use VisualQuestionAnswering'
                       'Inferencer'):
        ImageCaptionInferencer(vqa.model)


def test_show_dir_draws_on_the_image(vqa, tmp_path):
    show_dir = tmp_path / 'drawn'
    out = vqa(DEMO, QUESTIONS[:2], show_dir=str(show_dir))
    assert sorted(os.listdir(show_dir)) == ['shapes.png', 'shapes_1.png']
    original = np.asarray(Image.open(DEMO).convert('RGB'))
    first = np.asarray(Image.open(show_dir / 'shapes.png').convert('RGB'))
    second = np.asarray(Image.open(show_dir / 'shapes_1.png').convert('RGB'))
    assert first.shape == original.shape
    changed = (first != original).any(-1)
    # The text box is drawn at the top; the shapes below are kept.
    assert changed[:40].mean() > 0.2 and not changed[200:].any()
    assert (first != second).any()  # different questions and answers
    assert out == vqa(DEMO, QUESTIONS[:2])


def test_inference_model_keeps_the_model_built_by_name(monkeypatch):
    loads = []
    real = loading.load_llava_checkpoint

    def counting(*args, **kwargs):
        loads.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(loading, 'load_llava_checkpoint', counting)
    monkeypatch.setattr(inference_api, '_LAST_BUILT', {})
    first = inference_model(CAPTION, DEMO, device='cpu')
    second = inference_model(CAPTION, [DEMO, DEMO], device='cpu',
                             batch_size=2)
    assert len(loads) == 1
    assert second == [first, first]
    answer = inference_model(VQA, DEMO, 'How many shapes are there?',
                             device='cpu')
    assert answer == {'question': 'How many shapes are there?',
                      'pred_answer': '2'}
    assert len(loads) == 2
    # Only the last model is kept: going back loads again.
    assert inference_model(CAPTION, DEMO, device='cpu') == first
    assert len(loads) == 3


def test_list_models_mmpretrain_arguments():
    vqa_models = list_models(task='Visual Question Answering')
    assert VQA in vqa_models and CAPTION not in vqa_models
    assert VisualQuestionAnsweringInferencer.list_models() == vqa_models
    assert ImageCaptionInferencer.list_models('tiny') == [CAPTION]
    assert list_models('llava', exclude_patterns=['*13b*', '*vqa']) == [
        'llava-7b-v1.5_caption', 'llava-7b-v1_caption', CAPTION,
        'llava-v1.6-mistral-7b_caption', 'llava-v1.6-vicuna-7b_caption']
    with pytest.raises(ValueError, match='Unknown task'):
        list_models(task='Detection')


@pytest.fixture(scope='module')
def cli():
    """tools/inference.py's main(), run in this process."""
    spec = importlib.util.spec_from_file_location(
        'llava_mm_tools_inference', osp.join(ROOT, 'tools', 'inference.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_cli_many_images(cli, images, tmp_path, captioner, capsys):
    out = tmp_path / 'results.jsonl'
    folder = osp.dirname(images[0])
    cli([images[0], osp.join(folder, 'scene*.png'), CAPTION, '--device',
         'cpu', '--batch-size', '2', '--out', str(out), '--show-dir',
         str(tmp_path / 'drawn')])
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r['image'] for r in records] == images
    expected = captioner(images)
    assert [{'pred_caption': r['pred_caption']} for r in records] == expected
    printed = capsys.readouterr().out.splitlines()
    assert [json.loads(x) for x in printed] == records
    assert sorted(os.listdir(tmp_path / 'drawn')) == sorted(
        osp.basename(p) for p in images)


def test_cli_vqa_questions_file(cli, images, tmp_path, vqa, monkeypatch,
                                capsys):
    questions = tmp_path / 'questions.jsonl'
    rel = [osp.relpath(p, tmp_path) for p in images]
    questions.write_text(''.join(
        json.dumps(dict(image=p, question=q)) + '\n'
        for p, q in zip(rel, QUESTIONS)))
    out = tmp_path / 'answers.jsonl'
    monkeypatch.chdir(ROOT)  # image paths are relative to the file
    cli([VQA, '--questions', str(questions), '--out', str(out),
         '--batch-size', '4', '--device', 'cpu'])
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r.pop('image') for r in records] == rel  # as in the file
    assert records == vqa(images, QUESTIONS)
    capsys.readouterr()
    # One image: printed as inference_model returns it.
    cli([DEMO, VQA, '--prompt', QUESTIONS[1], '--device', 'cpu'])
    assert json.loads(capsys.readouterr().out) == {
        'question': QUESTIONS[1], 'pred_answer': 'circle'}

    with pytest.raises(SystemExit, match='--prompt') as e:
        cli([DEMO, VQA, '--device', 'cpu'])
    assert 'inference_model' not in str(e.value)
    questions.write_text('{"image": "a.png"}\n')
    with pytest.raises(SystemExit, match='line 1'):
        cli([VQA, '--questions', str(questions), '--device', 'cpu'])
    with pytest.raises(SystemExit):
        cli([VQA, DEMO, '--questions', str(questions)])
    assert '--questions names the images' in capsys.readouterr().err


def test_built_model_or_config_with_pretrained_path(captioner):
    from llava_mm.apis.model_index import model_entry
    entry = model_entry(CAPTION)
    random = get_model(CAPTION, pretrained=False, device='cpu')
    assert ImageCaptionInferencer(random)(DEMO) != captioner(DEMO)
    loaded = ImageCaptionInferencer(random, pretrained=entry['Weights'])
    assert loaded(DEMO) == captioner(DEMO)
    from_config = ImageCaptionInferencer(
        entry['Config'], pretrained=entry['Weights'], device='cpu',
        dtype='fp32')
    assert from_config(DEMO) == captioner(DEMO)
