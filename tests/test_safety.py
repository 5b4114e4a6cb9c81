"""No loading path runs code from a file (issue #17, part 1).

Each test crafts a checkpoint whose unpickling (or mmengine's later
``deepcopy`` of the message hub) would create a marker file, loads it through
one llava_mm path, and checks that the marker is absent and that the error
names the file.
"""
import json
import os.path as osp

import pytest
import torch
from mmengine.logging import HistoryBuffer

from llava_mm import init_model
from llava_mm.converters.to_mm import convert_llava_hf, convert_llava_original
from llava_mm.utils.safe_load import UnsafeCheckpointError
from payloads import getattr_checkpoint, save_payload, system_checkpoint
from test_train_tool import (
    ROOT,
    load_train_tool,
    run_train,
    tiny_config,  # noqa: F401  (fixture)
)

SHAPES_CONFIG = osp.join(ROOT, 'configs/llava/llava-tiny-shapes_caption.py')
PAYLOADS = {'getattr': getattr_checkpoint, 'os.system': system_checkpoint}


@pytest.fixture(params=sorted(PAYLOADS))
def crafted(request, tmp_path):
    """(checkpoint path, marker path) for each payload."""
    marker = str(tmp_path / 'payload_ran')
    path = str(tmp_path / f'crafted_{request.param.replace(".", "_")}.pth')
    PAYLOADS[request.param](path, marker)
    return path, marker


def _refused(fn, path, marker):
    with pytest.raises(UnsafeCheckpointError) as e:
        fn()
    assert path in str(e.value)
    assert not osp.exists(marker)


def test_payloads_are_real(crafted):
    """The files do run code under a plain load (so the tests below can
    fail); only the os.system one is run here, in a full unpickle."""
    path, marker = crafted
    if 'getattr' in path:
        import copy

        from llava_mm.utils.safe_load import _allowed_globals
        with torch.serialization.safe_globals(
                [getattr, HistoryBuffer] + _allowed_globals()[:-2]):
            ckpt = torch.load(path, weights_only=True)
        copy.deepcopy(ckpt['message_hub']['runtime_info'])
    else:
        torch.load(path, weights_only=False)
    assert osp.exists(marker)


def test_init_model_refuses(crafted):
    path, marker = crafted
    _refused(lambda: init_model(SHAPES_CONFIG, path, device='cpu'), path,
             marker)


def test_publish_model_refuses(crafted, tmp_path):
    path, marker = crafted
    spec_path = osp.join(ROOT, 'tools/model_converters/publish_model.py')
    import importlib.util
    spec = importlib.util.spec_from_file_location('publish', spec_path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    _refused(lambda: tool.publish(path, str(tmp_path / 'out.pth')), path,
             marker)


def test_converters_refuse(crafted, tmp_path):
    path, marker = crafted
    src = tmp_path / 'hf'
    src.mkdir()
    (src / 'config.json').write_text(json.dumps({'model_type': 'llava'}))
    bin_path = str(src / 'pytorch_model.bin')
    with open(path, 'rb') as f, open(bin_path, 'wb') as g:
        g.write(f.read())
    _refused(lambda: convert_llava_hf(str(src)), bin_path, marker)
    _refused(lambda: convert_llava_original(str(src), str(src)), bin_path,
             marker)


@pytest.mark.parametrize('how', ['resume', 'load_from'])
def test_train_tool_refuses(tiny_config, crafted, how):  # noqa: F811
    config, work_dir = tiny_config
    path, marker = crafted
    opts = ['--resume', path] if how == 'resume' else [
        '--cfg-options', f'load_from={path}']
    tool = load_train_tool()
    _refused(lambda: tool.main([config, '--work-dir', work_dir + '_crafted',
                                *opts]), path, marker)


def _legacy_copy(src, dst):
    """``src`` re-saved the way mmengine did before llava_mm's hook: real
    HistoryBuffers, pickled through ``getattr(HistoryBuffer, 'min')``."""
    ckpt = torch.load(src, weights_only=True)
    hub = ckpt['message_hub']
    hub['log_scalars'] = {
        k: HistoryBuffer(v['log_history'].tolist(),
                         v['count_history'].tolist(), v['max_length'])
        for k, v in hub['log_scalars'].items()}
    torch.save(ckpt, dst)


def test_checkpoints_are_plain_and_old_ones_resume(tiny_config):  # noqa
    """A Runner checkpoint of tools/train.py loads with a plain weights-only
    ``torch.load``; one in mmengine's old layout (HistoryBuffer objects)
    still resumes, with its logged history."""
    config, work_dir = tiny_config
    work_dir += '_plain'
    out = run_train(config, '--work-dir', work_dir, '--cfg-options',
                    'train_cfg.max_iters=2',
                    'default_hooks.checkpoint.interval=2')
    assert out.returncode == 0, out.stderr[-3000:]
    ckpt = osp.join(work_dir, 'iter_2.pth')
    hub = torch.load(ckpt, weights_only=True)['message_hub']
    assert len(hub['log_scalars']['train/loss']['log_history']) == 2
    legacy = osp.join(work_dir, 'legacy_iter_2.pth')
    _legacy_copy(ckpt, legacy)
    with pytest.raises(Exception):
        torch.load(legacy, weights_only=True)  # mmengine's own layout

    tool = load_train_tool()
    args = tool.parse_args([config, '--work-dir', work_dir, '--resume',
                            legacy, '--cfg-options', 'train_cfg.max_iters=3',
                            'default_hooks.checkpoint.interval=3'])
    runner = tool.build_runner(tool.merge_args(
        tool.Config.fromfile(config), args))
    runner.train()
    loss = runner.message_hub.get_scalar('train/loss')
    assert len(loss.data[0]) == 3  # two resumed + one new
    assert runner.iter == 3


def test_tampered_history_buffer_is_refused(tmp_path):
    """A HistoryBuffer with extra fields (where __reduce_ex__ would hide)."""
    buf = HistoryBuffer([1.0], [1])
    buf._payload_state = {'max_length': 5, '__reduce_ex__': 'x'}
    path = save_payload({'message_hub': {'log_scalars': {'a': buf}}},
                        str(tmp_path / 'tampered.pth'))
    with pytest.raises(UnsafeCheckpointError, match='unexpected fields'):
        init_model(SHAPES_CONFIG, path, device='cpu')


def test_resume_path_wins_over_load_from(tiny_config, tmp_path):  # noqa
    """``--resume PATH --cfg-options load_from=None`` resumes from PATH (it
    used to auto-resume from the work dir, i.e. start from scratch); a
    different ``load_from`` is refused."""
    config, _ = tiny_config
    tool = load_train_tool()
    ckpt = tmp_path / 'iter_7.pth'
    ckpt.write_bytes(b'')

    def merged(*argv):
        args = tool.parse_args([config, *argv])
        return tool.merge_args(tool.Config.fromfile(config), args)

    cfg = merged('--resume', str(ckpt), '--cfg-options', 'load_from=None')
    assert cfg.resume is True and cfg.load_from == str(ckpt)
    with pytest.raises(ValueError, match='name different files'):
        merged('--resume', str(ckpt), '--cfg-options',
               f'load_from={tmp_path}/other.pth')
    cfg = merged('--resume')
    assert cfg.resume is True and cfg.load_from is None
