"""The bad-input table of issue #17: each input gets an error that names it
and says what to do (image inputs: tests/test_preprocessing.py)."""
import copy
import json
import os.path as osp
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from safetensors.torch import save_file

from llava_mm import get_model, inference_model, init_model
from llava_mm.apis.runner_args import load_config
from llava_mm.converters.to_mm import convert_llava_hf, convert_llava_original
from llava_mm.generation import NonFiniteLogitsError
from llava_mm.utils import WeightsUnavailableError
from llava_mm.utils.safe_load import UnsafeCheckpointError
from test_output_paths import load_tool
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


def test_files_torch_save_did_not_write(tiny_ckpt, tmp_path):
    """Each is named for what it is, with a way to convert it that works;
    nothing suggests ``weights_only=False``."""
    cfg, state = tiny_ckpt
    legacy = str(tmp_path / 'legacy.pth')
    torch.save(state, legacy, _use_new_zipfile_serialization=False,
               pickle_protocol=4)
    with pytest.raises(UnsafeCheckpointError, match=(
            f'Refused to load {legacy}: it is a torch.save file in the legacy '
            r'format \(before PyTorch 1.6\) pickled with protocol 4')) as e:
        init_model(cfg, legacy, device='cpu')
    assert 'weights_only' not in str(e.value)
    torch.save(state, legacy, _use_new_zipfile_serialization=False)
    init_model(cfg, legacy, device='cpu')  # protocol 2: read as before

    plain = tmp_path / 'plain.pkl'
    with open(plain, 'wb') as f:
        pickle.dump(state, f)
    with pytest.raises(UnsafeCheckpointError, match=(
            f'{plain}: it is a plain Python pickle.*convert it once: '
            'python -c "(.*)" and load new.pth')) as e:
        init_model(cfg, str(plain), device='cpu')
    assert 'weights_only' not in str(e.value)
    command = re.search('python -c "(.*)" and', str(e.value)).group(1)
    subprocess.run([sys.executable, '-c', command], cwd=tmp_path, check=True)
    init_model(cfg, str(tmp_path / 'new.pth'), device='cpu')

    safetensors = tmp_path / 'weights.pth'
    save_file(state, str(safetensors))
    with pytest.raises(ValueError, match='is a safetensors file with another '
                       'extension; rename it to end in .safetensors'):
        init_model(cfg, str(safetensors), device='cpu')
    safetensors.rename(tmp_path / 'weights.safetensors')
    init_model(cfg, str(tmp_path / 'weights.safetensors'), device='cpu')


@pytest.mark.parametrize('kwargs,msg', [
    (dict(num_beams=0), r'num_beams=0: use an integer of 1 or more'),
    (dict(num_beams=2.5), r'num_beams=2.5: use an integer'),
    (dict(max_new_tokens='5'), r"max_new_tokens='5': use an integer"),
    (dict(num_return_sequences=2), 'returns one text per image'),
    (dict(do_sample=True, top_p=1.5), r'top_p=1.5: use a number in \(0, 1\]'),
    (dict(do_sample=True, temperature=0), r'temperature=0 with do_sample'),
])
def test_generation_settings(tiny_ckpt, kwargs, msg):
    """Each used to crash deep in transformers (ZeroDivisionError for
    num_beams=0) or was taken silently (top_p=1.5; two sequences per
    image paired with the wrong images)."""
    cfg, state = tiny_ckpt
    model = init_model(cfg, device='cpu')
    with pytest.raises(ValueError, match=msg):
        inference_model(model, [SHAPES_IMAGE] * 2, **kwargs)


def test_lone_surrogate_in_a_question(tiny_ckpt):
    cfg, _ = tiny_ckpt
    model = init_model(cfg, device='cpu')
    stdin_text = b'Describe the caf\xe9.'.decode('utf-8', 'surrogateescape')
    with pytest.raises(ValueError, match=(
            r'The question is not valid text: it holds a lone surrogate at '
            r"character 16 \(U\+DCE9, after 'Describe the caf'\)")):
        inference_model(model, SHAPES_IMAGE, stdin_text)


def test_yaml_and_other_config_files(tiny_ckpt, tmp_path, capsys):
    """mmengine reads .yaml configs: they work by path like .py ones (they
    were reported as "not found"); a file of another kind is named."""
    cfg, state = tiny_ckpt
    ckpt = _save(tmp_path, state)
    config = str(tmp_path / 'tiny.yaml')
    cfg.dump(config)
    assert get_model(config, pretrained=ckpt, device='cpu').task == 'caption'
    tool = load_tool('inference')
    tool.main([SHAPES_IMAGE, config, '--checkpoint', ckpt, '--device', 'cpu',
               '--max-new-tokens', '2'])
    assert 'pred_caption' in json.loads(capsys.readouterr().out)
    with pytest.raises(ValueError, match=r'tiny.txt is not a config file: '
                       r'configs are Python files \(.py'):
        load_config(str(tmp_path / 'tiny.txt'))
    with pytest.raises(FileNotFoundError, match='Config file not found: '
                       'nope.yaml'):
        load_config('nope.yaml')


def test_devices_and_generation_cfg_checked_first(tiny_ckpt, tmp_path):
    """Refused before the checkpoint is read (it does not exist here): a
    device that is no device name or not on this machine (torch's
    RuntimeError, after loading), a config's ``num_beams=0``."""
    cfg, _ = tiny_ckpt
    missing = str(tmp_path / 'missing.pth')
    with pytest.raises(ValueError, match="device='tpu' is not a device name"):
        init_model(cfg, missing, device='tpu')
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    match = 'has no usable CUDA GPU' if not gpus else \
        f'has {gpus} CUDA GPU'
    with pytest.raises(ValueError, match=match):
        init_model(cfg, missing, device=f'cuda:{gpus + 7}')
    bad = Config(copy.deepcopy(cfg.to_dict()))
    bad.model.generation_cfg = dict(num_beams=0)
    with pytest.raises(ValueError, match='num_beams=0: use an integer'):
        init_model(bad, missing, device='cpu')


def test_show_dir_that_is_a_file(tiny_ckpt, tmp_path):
    cfg, _ = tiny_ckpt
    afile = tmp_path / 'afile'
    afile.write_text('')
    with pytest.raises(NotADirectoryError, match=f'show_dir {afile} is a '
                       'file: name a folder'):
        inference_model(init_model(cfg, device='cpu'), SHAPES_IMAGE,
                        show_dir=str(afile))
