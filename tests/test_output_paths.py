"""No output overwrites an input, and an output that cannot be written is
refused before any generation (issue #24, item 3 and the crash list):
``show_dir`` of the inferencers, ``tools/inference.py --show-dir/--out``,
``tools/test.py --out/--show-dir``."""
import importlib.util
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from llava_mm import ImageCaptionInferencer, init_model
from tiny import tiny_llava_model_cfg, tiny_test_pipeline

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(ROOT, 'demo', 'shapes.png')


@pytest.fixture(scope='module')
def tiny(tmp_path_factory, tokenizer_dir):
    """A tiny caption model: its config file, checkpoint and inferencer."""
    root = tmp_path_factory.mktemp('tiny_out')
    model_cfg = tiny_llava_model_cfg(tokenizer_dir, 300)
    model_cfg['generation_cfg'] = dict(max_new_tokens=2)
    cfg = Config(dict(model=model_cfg, test_pipeline=tiny_test_pipeline()))
    config = str(root / 'tiny.py')
    cfg.dump(config)
    torch.manual_seed(0)
    model = init_model(cfg, device='cpu')
    ckpt = str(root / 'tiny.pth')
    torch.save(model.state_dict(), ckpt)
    return dict(config=config, ckpt=ckpt,
                inferencer=ImageCaptionInferencer(model))


@pytest.fixture
def inputs(tmp_path):
    """``imgs/a.png``, ``imgs/b.png`` and ``links/c.png`` -> ``imgs/b.png``."""
    imgs = tmp_path / 'imgs'
    imgs.mkdir()
    for name in ('a.png', 'b.png'):
        shutil.copy(DEMO, imgs / name)
    (tmp_path / 'links').mkdir()
    os.symlink(imgs / 'b.png', tmp_path / 'links' / 'c.png')
    return tmp_path


def _unchanged(folder):
    data = open(DEMO, 'rb').read()
    for name in ('a.png', 'b.png'):
        assert open(folder / 'imgs' / name, 'rb').read() == data, name


def test_show_dir_never_overwrites_an_input(tiny, inputs, monkeypatch):
    infer = tiny['inferencer']
    imgs = str(inputs / 'imgs')
    monkeypatch.chdir(inputs)
    os.symlink(imgs, inputs / 'alias')
    cases = [
        (imgs, imgs, 'a.png'),  # the input folder itself
        ([osp.join('imgs', 'a.png')], 'links/../imgs', 'a.png'),  # relative
        (imgs, str(inputs / 'alias'), 'a.png'),  # a symlink to the folder
        # the drawing of links/c.png is imgs/c.png; links/c.png -> imgs/b.png
        ([str(inputs / 'links' / 'c.png')], str(inputs / 'links'), 'c.png'),
    ]
    for images, show_dir, name in cases:
        with pytest.raises(ValueError, match=(
                f'show_dir: writing .*{name} would overwrite the input '
                r'.*Choose another show_dir')):
            infer(images, show_dir=show_dir)
    _unchanged(inputs)
    # A hard link to an input is that input too.
    os.link(inputs / 'imgs' / 'a.png', inputs / 'links' / 'a.png')
    with pytest.raises(ValueError, match='would overwrite the input'):
        infer(imgs, show_dir=str(inputs / 'links'))
    _unchanged(inputs)

    out = inputs / 'drawn'
    infer([str(inputs / 'links' / 'c.png'), imgs], show_dir=str(out))
    assert sorted(os.listdir(out)) == ['a.png', 'b.png', 'c.png']
    _unchanged(inputs)


def test_dots_only_file_name_is_drawn(tiny, tmp_path):
    """``..png`` has the stem ``.``: its drawing is named by its index (it
    was ``..png``, which OpenCV cannot encode: no extension)."""
    path = tmp_path / '..png'
    shutil.copy(DEMO, path)
    tiny['inferencer']([DEMO, str(path)], show_dir=str(tmp_path / 'out'))
    assert sorted(os.listdir(tmp_path / 'out')) == ['1.png', 'shapes.png']


def load_tool(name):
    spec = importlib.util.spec_from_file_location(
        f'llava_mm_tools_{name}', osp.join(ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_inference_tool_checks_outputs_first(tiny, inputs, monkeypatch):
    """Refused before the model is loaded (the checkpoint given does not
    exist, so loading it would fail differently)."""
    main = load_tool('inference').main
    monkeypatch.chdir(inputs)
    args = ['imgs', tiny['config'], '--checkpoint', 'missing.pth']
    with pytest.raises(ValueError, match=r'--show-dir: writing imgs/\./a.png'
                       ' would overwrite the input imgs/a.png'):
        main([*args, '--show-dir', 'imgs/.'])
    with pytest.raises(FileNotFoundError, match='--out new/out.jsonl: the '
                       'folder .*new does not exist'):
        main([*args, '--out', 'new/out.jsonl'])
    with pytest.raises(ValueError, match='--out: writing links/c.png would '
                       'overwrite the input imgs/b.png'):
        main([*args, '--out', 'links/c.png'])
    questions = inputs / 'q.jsonl'
    questions.write_text('{"image": "imgs/a.png", "question": "What?"}\n')
    with pytest.raises(ValueError, match='would overwrite the input q.jsonl'):
        main([tiny['config'], '--checkpoint', 'missing.pth', '--questions',
              'q.jsonl', '--out', './q.jsonl'])
    with pytest.raises(IsADirectoryError, match='--out imgs is a folder'):
        main([*args, '--out', 'imgs'])
    _unchanged(inputs)
    # With good outputs the run goes on to the checkpoint.
    with pytest.raises(SystemExit, match='missing.pth: no such file'):
        main([*args, '--show-dir', 'drawn', '--out', 'out.jsonl'])


def test_inference_tool_refusal_is_one_line(tiny, inputs):
    """As a user runs it: exit status 1, one ``error:`` line, no
    traceback, the input intact."""
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    proc = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'inference.py'),
         str(inputs / 'imgs'), tiny['config'], '--checkpoint', tiny['ckpt'],
         '--device', 'cpu', '--show-dir', str(inputs / 'imgs')],
        env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines()
              if line.startswith('error:')]
    assert len(errors) == 1 and 'would overwrite the input' in errors[0]
    assert 'Traceback' not in proc.stderr
    _unchanged(inputs)
