"""The Python API, registries and the errors users see."""
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from llava_mm import get_model, inference_model, init_model, list_models
from llava_mm.conversation import model_prompt_templates
from llava_mm.models import WeightsUnavailableError
from llava_mm.registry import MODELS
from tiny import tiny_llava_model_cfg, tiny_test_pipeline

VOCAB = 300


def _cfg(tokenizer_dir, **kw):
    return Config(dict(model=tiny_llava_model_cfg(tokenizer_dir, VOCAB, **kw),
                       test_pipeline=tiny_test_pipeline()))


@pytest.fixture(scope='module')
def caption_model(tokenizer_dir):
    torch.manual_seed(0)
    return init_model(_cfg(tokenizer_dir), device='cpu')


def test_list_models():
    names = list_models()
    for n in ['llava-7b-v1_caption', 'llava-7b-v1.5_caption',
              'llava-7b-v1.5_vqa', 'llava-13b-v1.5_caption',
              'llava-13b-v1.5_vqa']:
        assert n in names
    assert set(list_models('*vqa')) >= {'llava-7b-v1.5_vqa',
                                        'llava-13b-v1.5_vqa'}
    assert 'llava-7b-v1_caption' not in list_models('13b')


def test_release_configs_build_on_meta():
    """Every released config builds at full size (on the meta device, with
    a local tokenizer) and has the parameter count of the model table."""
    from llava_mm.apis.model_index import load_model_index
    index = load_model_index()
    for name in ['llava-7b-v1.5_caption', 'llava-7b-v1_caption']:
        cfg = Config.fromfile(index[name]['Config'])
        assert cfg.model.mm_vision_select_layer == -2
        if 'v1.5' in name:
            assert 'USER: <image>\n{question} ASSISTANT:' in \
                model_prompt_templates(cfg.model)[0]
            assert cfg.test_pipeline[1]['type'] == 'PadToSquare'
    vqa = Config.fromfile(index['llava-7b-v1.5_vqa']['Config'])
    assert vqa.model.task == 'vqa'
    assert model_prompt_templates(vqa.model)[0].endswith(
        '{question}\nAnswer the question using a single word or phrase. '
        'ASSISTANT:')
    assert vqa.test_dataloader.dataset.type == 'COCOVQA'
    assert vqa.test_evaluator.type == 'VQAAcc'


@pytest.mark.parametrize('name', [
    'llava-7b-v1.5_caption', 'llava-v1.6-vicuna-7b_caption',
    'llava-v1.6-vicuna-13b_vqa', 'llava-v1.6-mistral-7b_vqa'])
def test_full_size_parameter_count(tokenizer_dir, name):
    from llava_mm.apis.model_index import load_model_index
    entry = load_model_index()[name]
    cfg = Config.fromfile(entry['Config'])
    cfg.model.tokenizer.name_or_path = tokenizer_dir
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    n = sum(p.numel() for p in model.parameters())
    # The table's 7062900736 counts all 24 ViT blocks; we build 23 (the
    # last is never read with mm_vision_select_layer=-2).
    C = 1024  # qkv 3C²+3C, proj C²+C, 2 LNs 4C, FFN 8C²+5C
    vit_block = 12 * C * C + 13 * C
    assert n + vit_block == entry['Metadata']['Parameters']
    if 'v1.6' in name:  # anyres: tiles, unpadding, a learned row end
        assert model.anyres.pinpoints == [(336, 672), (672, 336), (672, 672),
                                          (1008, 336), (336, 1008)]
        assert model.image_newline.shape == (
            model.lang_encoder.config.hidden_size, )
        assert cfg.test_pipeline[1]['type'] == 'AnyResTiles'
        assert 'image_size' in cfg.test_pipeline[-1]['meta_keys']
        assert cfg.model.vision_encoder.pretrained is None


def test_inference_inputs(caption_model, tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (30, 40, 3), np.uint8)
    Image.fromarray(arr).save(tmp_path / 'img.png')
    kw = dict(max_new_tokens=6)
    by_path = inference_model(caption_model, str(tmp_path / 'img.png'), **kw)
    by_array = inference_model(caption_model, arr, **kw)
    by_pil = inference_model(caption_model, Image.fromarray(arr), **kw)
    assert set(by_path) == {'pred_caption'}
    assert by_path == by_array == by_pil
    custom = inference_model(caption_model, arr, 'What is this?', **kw)
    assert set(custom) == {'pred_caption'}


def test_custom_prompt_changes_the_prompt(caption_model):
    default = caption_model.tokenize_prompt(caption_model.format_prompt())
    custom = caption_model.tokenize_prompt(
        caption_model.format_prompt('What is this?'))
    tok = caption_model.tokenizer
    assert default[0] == tok.bos_token_id and custom[0] == tok.bos_token_id
    assert default != custom
    assert 'What is this?' in tok.decode(custom[custom.index(-200) + 1:])


def test_vqa_needs_question(tokenizer_dir):
    model = init_model(_cfg(tokenizer_dir, task='vqa'), device='cpu')
    img = np.zeros((28, 28, 3), np.uint8)
    with pytest.raises(ValueError, match='VQA model'):
        inference_model(model, img)
    out = inference_model(model, img, 'What colour?', max_new_tokens=3)
    assert set(out) == {'question', 'pred_answer'}
    assert out['question'] == 'What colour?'


def test_bad_prompt_template(tokenizer_dir):
    cfg = _cfg(tokenizer_dir)
    cfg.model.prompt_tmpl = 'USER: {question} ASSISTANT:'
    with pytest.raises(ValueError, match='<image>'):
        init_model(cfg, device='cpu')


def test_prompt_longer_than_context(tokenizer_dir):
    cfg = _cfg(tokenizer_dir)
    cfg.model.lang_encoder.config.max_position_embeddings = 64
    model = init_model(cfg, device='cpu')
    img = np.zeros((28, 28, 3), np.uint8)
    with pytest.raises(ValueError, match="context of 64"):
        inference_model(model, img, max_new_tokens=4)


def test_offline_tokenizer_error(tokenizer_dir):
    cfg = _cfg(tokenizer_dir)
    cfg.model.tokenizer.name_or_path = 'liuhaotian/llava-v1.5-7b'
    with pytest.raises(WeightsUnavailableError) as e:
        init_model(cfg, device='cpu')
    msg = str(e.value)
    assert 'liuhaotian/llava-v1.5-7b' in msg
    assert "tokenizer=dict(name_or_path='/path/to/local')" in msg


def test_get_model_errors():
    with pytest.raises(ValueError, match='Unknown model'):
        get_model('llava-7b-v3_caption')
    with pytest.raises(ValueError, match='no released weights'):
        get_model('llava-13b-v1.5_vqa')


def test_v1_tokens_grow_vocabulary(tokenizer_dir):
    cfg = _cfg(tokenizer_dir, mm_proj_depth=1)
    cfg.model.use_im_start_end = True
    cfg.model.prompt_tmpl = 'USER: <im_start><image><im_end>\n{question} ' \
        'ASSISTANT:'
    model = init_model(cfg, device='cpu')
    emb = model.lang_encoder.get_input_embeddings().weight
    assert emb.shape[0] == VOCAB + 2
    ids = model.tokenize_prompt(model.format_prompt('hi'))
    cut = ids.index(-200)
    assert ids[cut - 1] == VOCAB and ids[cut + 1] == VOCAB + 1
    assert isinstance(model.projector, torch.nn.Linear)


def test_mmpretrain_models_never_imported(tokenizer_dir):
    code = (
        'import sys, llava_mm\n'
        'from llava_mm.registry import MODELS\n'
        'from mmengine.config import Config\n'
        'from tiny import tiny_llava_model_cfg\n'
        f'm = MODELS.build(tiny_llava_model_cfg({tokenizer_dir!r}, 300))\n'
        'assert type(m).__module__ == "llava_mm.models.llava"\n'
        'try:\n'
        '    MODELS.build(dict(type="ResNet", depth=18))\n'
        'except KeyError:\n'
        '    pass\n'
        'else:\n'
        '    raise SystemExit("ResNet resolved outside llava_mm")\n'
        'bad = [k for k in sys.modules if k.startswith("mmpretrain.models")]\n'
        'assert not bad, bad\n')
    subprocess.run([sys.executable, '-c', code], check=True,
                   cwd=osp.dirname(osp.abspath(__file__)))
