"""The bad-input table of issue #17: each input gets an error that names it
and says what to do (image inputs: tests/test_preprocessing.py)."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from llava_mm import get_model, inference_model, init_model
from llava_mm.converters.to_mm import convert_llava_hf, convert_llava_original
from llava_mm.generation import NonFiniteLogitsError
from llava_mm.utils import WeightsUnavailableError
from tiny import tiny_llava_model_cfg, tiny_test_pipeline

VOCAB = 300
SHAPES_IMAGE = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                        'demo', 'shapes.png')


def _cfg(tokenizer_dir):
    return Config(dict(model=tiny_llava_model_cfg(tokenizer_dir, VOCAB),
                       test_pipeline=tiny_test_pipeline()))


@pytest.fixture(scope='module')
def tiny_ckpt(tmp_path_factory, tokenizer_dir):
    """A tiny config and its full (vision included) state dict."""
    torch.manual_seed(0)
    cfg = _cfg(tokenizer_dir)
    return cfg, dict(init_model(cfg, device='cpu').state_dict())


def _save(tmp_path, obj, name='ckpt.pth'):
    path = str(tmp_path / name)
    torch.save(obj, path)
    return path


def test_missing_config_path():
    with pytest.raises(FileNotFoundError,
                       match='Config file not found: configs/llava/nope.py'):
        get_model('configs/llava/nope.py', pretrained=False)


def test_integer_dtype(tiny_ckpt, tmp_path):
    cfg, state = tiny_ckpt
    path = _save(tmp_path, state)
    with pytest.raises(ValueError, match=r'dtype=torch.int8 is not a '
                       r'floating-point dtype.*bf16'):
        init_model(cfg, path, device='cpu', dtype=torch.int8)
    bad = dict(state)
    key = 'model.lang_encoder.lm_head.weight'
    bad[key] = bad[key].to(torch.int8)
    path = _save(tmp_path, bad, 'int8.pth')
    with pytest.raises(TypeError, match=rf'int8.pth holds {key!r} as '
                       'torch.int8.*floating-point'):
        init_model(cfg, path, device='cpu')


@pytest.mark.parametrize('obj,msg', [
    ({}, 'holds no tensors'),
    ({'state_dict': 'x'}, "'state_dict' holds a str, not a dict of tensors"),
    ({'state_dict': {'a': 1}}, r"'a' is not a tensor \(int\)"),
    ([1, 2], 'holds a list, not a state dict'),
])
def test_not_a_state_dict(tiny_ckpt, tmp_path, obj, msg):
    cfg, _ = tiny_ckpt
    path = _save(tmp_path, obj)
    with pytest.raises(ValueError, match=msg) as e:
        init_model(cfg, path, device='cpu')
    assert path in str(e.value)


@pytest.mark.parametrize('value', [float('nan'), float('inf')])
def test_non_finite_weights(tiny_ckpt, tmp_path, value):
    cfg, state = tiny_ckpt
    bad = dict(state)
    key = 'model.lang_encoder.model.layers.0.mlp.up_proj.weight'
    bad[key] = bad[key].clone()
    bad[key][0, :3] = value
    path = _save(tmp_path, bad)
    with pytest.raises(ValueError, match=rf'ckpt.pth holds 3 NaN/inf values '
                       rf'in {key!r}'):
        init_model(cfg, path, device='cpu')
    # fp32 values that overflow fp16 are caught after the cast too.
    big = dict(state)
    big[key] = big[key].clone()
    big[key][0, 0] = 1e6
    path = _save(tmp_path, big, 'big.pth')
    with pytest.raises(ValueError, match=r'1 NaN/inf values.*torch.float16'):
        init_model(cfg, path, device='cpu', dtype='fp16')


def test_non_finite_logits(tiny_ckpt):
    """Weights that go bad after loading: generation stops with an error
    instead of returning empty text."""
    cfg, _ = tiny_ckpt
    model = init_model(cfg, device='cpu')
    with torch.no_grad():
        model.model.lang_encoder.lm_head.weight[5] = float('nan')
    img = np.zeros((28, 28, 3), np.uint8)
    with pytest.raises(NonFiniteLogitsError, match='NaN/inf logits'):
        inference_model(model, img, max_new_tokens=3)


def test_truncated_checkpoint(tiny_ckpt, tmp_path):
    cfg, state = tiny_ckpt
    data = open(_save(tmp_path, state), 'rb').read()
    path = str(tmp_path / 'cut.pth')
    for size in (len(data) // 2, 100):
        with open(path, 'wb') as f:
            f.write(data[:size])
        with pytest.raises(ValueError, match=f'Cannot read checkpoint {path}'
                           ': the file is truncated') as e:
            init_model(cfg, path, device='cpu')
        # one error, not a chain of tracebacks
        assert e.value.__cause__ is None and e.value.__suppress_context__


def test_converters_name_junk_files(tmp_path):
    src = tmp_path / 'hf'
    src.mkdir()
    (src / 'config.json').write_text('{"model_type": "llava",')
    with pytest.raises(ValueError, match=f'{src}/config.json is not valid '
                       'JSON'):
        convert_llava_hf(str(src))
    (src / 'config.json').write_text('[1]')
    with pytest.raises(ValueError, match='config.json holds a JSON list'):
        convert_llava_hf(str(src))
    (src / 'config.json').write_text(json.dumps({'model_type': 'llava'}))
    junk = src / 'model.safetensors'
    junk.write_bytes(b'\x10\x00\x00\x00\x00\x00\x00\x00not a header....')
    with pytest.raises(ValueError, match=f'Cannot read {junk} as a '
                       'safetensors file'):
        convert_llava_hf(str(src))
    with pytest.raises(ValueError, match=f'Cannot read {junk} as a '
                       'safetensors file'):
        convert_llava_original(str(src), str(src))


def test_offline_hints_work(tiny_ckpt, tmp_path, tokenizer_dir):
    """The errors' Python hints are calls that work when followed."""
    cfg, state = tiny_ckpt
    path = _save(tmp_path, state)
    config = str(tmp_path / 'tiny.py')
    cfg.dump(config)

    broken = Config.fromfile(config)
    broken.model.tokenizer.name_or_path = 'no-such-org/no-such-tokenizer'
    broken.dump(config)
    with pytest.raises(WeightsUnavailableError) as e:
        get_model(config, pretrained=path, device='cpu')
    hint = "get_model(..., tokenizer=dict(name_or_path='/path/to/local'))"
    assert hint in str(e.value)
    assert '--cfg-options' not in str(e.value)  # Python words for Python
    model = get_model(config, pretrained=path, device='cpu',
                      tokenizer=dict(name_or_path=tokenizer_dir))
    assert model.tokenizer.name_or_path == tokenizer_dir

    url = 'http://127.0.0.1:9/llava.pth'  # nothing listens on port 9
    with pytest.raises(WeightsUnavailableError) as e:
        get_model(config, pretrained=url, device='cpu',
                  tokenizer=dict(name_or_path=tokenizer_dir))
    assert "get_model(NAME, pretrained='/path/to/file.pth')" in str(e.value)
    assert 'tools/test.py' not in str(e.value)
    assert 'pretrained=...' not in str(e.value)
