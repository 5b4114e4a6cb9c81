"""The small shapes LLaVA that ships with the package works offline."""
import os
import os.path as osp

import pytest

from llava_mm import get_model, inference_model, list_models
from llava_mm.apis.model_index import model_entry

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# demo/shapes.png (tiny_shapes.scene.demo_scene): a small red circle on the
# left, a large blue square on the right, on a dark grey background.
DEMO = osp.join(ROOT, 'demo', 'shapes.png')


@pytest.fixture(scope='module')
def caption_model():
    return get_model('llava-tiny-shapes_caption', device='cpu')


def test_registered_with_local_weights():
    assert {'llava-tiny-shapes_caption',
            'llava-tiny-shapes_vqa'} <= set(list_models('tiny-shapes'))
    for name in ('llava-tiny-shapes_caption', 'llava-tiny-shapes_vqa'):
        weights = model_entry(name)['Weights']
        assert osp.isfile(weights), weights
    size = sum(
        osp.getsize(osp.join(d, f))
        for d, _, files in os.walk(osp.dirname(weights)) for f in files)
    assert size <= 20 * 2**20


def test_caption_names_what_is_drawn(caption_model):
    caption = inference_model(caption_model, DEMO)['pred_caption']
    # Both shapes with size, colour and kind, left to right.
    assert 'small red circle' in caption, caption
    assert 'large blue square' in caption, caption
    assert caption.index('red') < caption.index('blue'), caption
    assert caption.startswith('a ') and caption.endswith('.'), caption


@pytest.mark.parametrize('question,answer', [
    ('What shape is the blue object?', 'square'),
    ('What shape is the red object?', 'circle'),
    ('How many shapes are there?', '2'),
])
def test_vqa_by_name_from_any_directory(tmp_path, monkeypatch, question,
                                        answer):
    monkeypatch.chdir(tmp_path)  # the tokenizer path must not depend on cwd
    out = inference_model('llava-tiny-shapes_vqa', DEMO, question,
                          device='cpu')
    assert out == {'question': question, 'pred_answer': answer}


def test_path_bytes_and_0_255_floats(caption_model):
    """pathlib.Path and encoded bytes give the caption of the path; a float
    array in 0-255 is refused instead of clipped into a junk caption."""
    from pathlib import Path

    import numpy as np
    from PIL import Image
    expected = inference_model(caption_model, DEMO)['pred_caption']
    with open(DEMO, 'rb') as f:
        data = f.read()
    for image in (Path(DEMO), data):
        assert inference_model(caption_model,
                               image)['pred_caption'] == expected
    floats = np.asarray(Image.open(DEMO).convert('RGB'), np.float32)
    with pytest.raises(ValueError, match=r'spans \[34, 241\]'):
        inference_model(caption_model, floats)
    assert inference_model(caption_model, floats / 255)[
        'pred_caption'] == expected
