"""tools/train.py end to end on a tiny generated shapes set: train, resume,
and load the checkpoint with init_model; one run per work dir; what
``--resume`` refuses."""
import importlib.util
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch
from mmengine.config import Config

from llava_mm.apis import inference_model, init_model
from llava_mm.utils.user_errors import run_tool
from projects.tiny_shapes.tiny_shapes.generator import make_shapes
from tiny import tiny_llava_model_cfg

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TRAIN_CONFIG = osp.join(
    ROOT, 'projects/tiny_shapes/configs/llava-tiny-shapes_train.py')


def run_train(*args):
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join(
                   [ROOT] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
    return subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools/train.py'), *args],
        env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope='module')
def tiny_config(tmp_path_factory, tokenizer_dir):
    """The shipped train config with a tiny model, 8 images, 3 iterations."""
    tmp = tmp_path_factory.mktemp('train')
    data = str(tmp / 'shapes')
    make_shapes(data, 16, seed=0, split='train')  # 1 left/right question
    cfg = Config.fromfile(TRAIN_CONFIG)
    # Same architecture classes, tiny sizes; 64x64 images, 16x16 patches.
    cfg.model = tiny_llava_model_cfg(tokenizer_dir, 300, img_size=64,
                                     patch_size=16)
    cfg.model.freeze_vision = False
    for part in cfg.train_dataloader.dataset.datasets:
        part.data_root = data
    cfg.load_from = None  # no stage-0 vision checkpoint here
    # the shipped curriculum in miniature: mix, left/right alone, mix
    cfg.train_dataloader.batch_size = 4
    cfg.train_dataloader.sampler.batch_size = 4
    cfg.train_dataloader.sampler.phases = [
        dict(dataset=0, iters=1), dict(dataset=1, iters=1),
        dict(dataset=0, iters=2)]
    cfg.train_cfg.max_iters = 3
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0,
                                by_epoch=False)]
    cfg.default_hooks.checkpoint.interval = 3
    cfg.default_hooks.logger.interval = 1
    path = str(tmp / 'tiny_train.py')
    cfg.dump(path)
    return path, str(tmp / 'work')


def test_train_resume_and_load(tiny_config):
    config, work_dir = tiny_config
    out = run_train(config, '--work-dir', work_dir)
    assert out.returncode == 0, out.stderr[-3000:]
    ckpt = osp.join(work_dir, 'iter_3.pth')
    assert osp.isfile(ckpt)
    assert 'Iter(train) [3/3]' in out.stderr + out.stdout

    # init_model reads the Runner checkpoint (OpenMMLab key layout).
    model = init_model(config, ckpt, device='cpu')
    state = torch.load(ckpt, map_location='cpu', weights_only=False)
    trained = state['state_dict']
    assert any(k.startswith('model.vision_tower.') for k in trained)
    assert any(k.startswith('model.lang_encoder.model.mm_projector.')
               for k in trained)
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, trained[k], msg=k)
    img = osp.join(osp.dirname(config), 'shapes', 'train',
                   'shapes_train_000000000000.png')
    assert isinstance(inference_model(model, img, max_new_tokens=4)[
        'pred_caption'], str)

    # --resume picks up iter_3 (optimizer, scheduler, iteration count).
    out = run_train(config, '--work-dir', work_dir, '--resume',
                    '--cfg-options', 'train_cfg.max_iters=4')
    log = out.stderr + out.stdout
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'resumed epoch: 0, iter: 3' in log
    assert 'Iter(train) [4/4]' in log and 'Iter(train) [3/4]' not in log
    assert osp.isfile(osp.join(work_dir, 'iter_4.pth'))


def load_train_tool():
    spec = importlib.util.spec_from_file_location(
        'train_tool', osp.join(ROOT, 'tools/train.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_train_tool_errors(tiny_config, tmp_path):
    config, _ = tiny_config
    tool = load_train_tool()

    def merged(*argv):
        args = tool.parse_args([*argv])
        return tool.merge_args(Config.fromfile(args.config), args)

    with pytest.raises(FileNotFoundError, match='no such checkpoint'):
        merged(config, '--resume', str(tmp_path / 'missing.pth'))
    with pytest.raises(ValueError, match='not a training config'):
        merged(osp.join(ROOT, 'configs/llava/llava-tiny-shapes_caption.py'))
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match='needs a GPU'):
            merged(config, '--amp')
    with pytest.raises(ValueError, match='sampler.batch_size=4 differs'):
        merged(config, '--cfg-options', 'train_dataloader.batch_size=8')
    with pytest.raises(FileNotFoundError, match='Train the stage'):
        merged(config, '--cfg-options', f'load_from={tmp_path}/stage0.pth')
    cfg = merged(config, '--resume', '--cfg-options', 'model.freeze_lm=True')
    assert cfg.resume is True and cfg.load_from is None
    assert cfg.model.freeze_lm is True
    assert cfg.work_dir == osp.join('./work_dirs', 'tiny_train')


def test_flexible_runner(tiny_config, tmp_path):
    """``runner_type='FlexibleRunner'`` goes through mmengine's strategies.

    On CPU only the single-device strategy can train; an FSDP config is
    checked to build its runner and strategy (FSDP itself needs GPUs and a
    process group, see docs/training.md).
    """
    from mmengine._strategy import FSDPStrategy, SingleDeviceStrategy
    from mmengine.runner import FlexibleRunner
    config, _ = tiny_config
    tool = load_train_tool()
    args = tool.parse_args([config, '--work-dir', str(tmp_path / 'flex'),
                            '--cfg-options', 'runner_type=FlexibleRunner',
                            'train_cfg.max_iters=2',
                            'default_hooks.checkpoint.interval=2'])
    cfg = tool.merge_args(Config.fromfile(args.config), args)
    runner = tool.build_runner(cfg)
    assert isinstance(runner, FlexibleRunner)
    assert isinstance(runner.strategy, SingleDeviceStrategy)
    runner.train()
    ckpt = str(tmp_path / 'flex' / 'iter_2.pth')
    assert init_model(config, ckpt, device='cpu').task == 'caption'

    cfg = tool.merge_args(Config.fromfile(args.config), args)
    cfg.strategy = dict(
        type='FSDPStrategy',
        model_wrapper=dict(auto_wrap_policy=dict(
            type='torch.distributed.fsdp.wrap.size_based_auto_wrap_policy',
            min_num_params=int(1e7))))
    cfg.work_dir = str(tmp_path / 'fsdp')
    assert isinstance(tool.build_runner(cfg).strategy, FSDPStrategy)


def test_second_run_on_a_work_dir_is_refused(tiny_config, tmp_path):
    """Two real training processes on one work dir: the second stops at
    once, naming the first, and writes nothing there (they used to mix
    checkpoints and crash the first)."""
    config, _ = tiny_config
    work_dir = tmp_path / 'work'
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
    first = subprocess.Popen(
        [sys.executable, osp.join(ROOT, 'tools/train.py'), config,
         '--work-dir', str(work_dir), '--cfg-options',
         'train_cfg.max_iters=100000', 'default_hooks.logger.interval=1000',
         'default_hooks.checkpoint.interval=100000'],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True)
    try:
        deadline = time.time() + 240
        while not (work_dir / 'run.lock').exists():
            assert first.poll() is None, first.stderr.read()[-3000:]
            assert time.time() < deadline
            time.sleep(0.2)
        second = run_train(config, '--work-dir', str(work_dir))
        assert first.poll() is None  # the first one still trains
    finally:
        first.send_signal(signal.SIGINT)
        first.wait(timeout=120)
    assert second.returncode == 1, second.stderr[-3000:]
    assert f'error: Another training run (pid {first.pid} on this host' \
        in second.stderr
    assert 'Traceback' not in second.stderr
    logs = [p for p in os.listdir(work_dir) if p[:1].isdigit()]
    assert len(logs) == 1  # the first run's log folder only
    assert not (work_dir / 'run.lock').exists()  # released by the first


@pytest.fixture(scope='module')
def trained(tiny_config, tmp_path_factory):
    """A 3-iteration run's work dir (lr 1e-3, batch size 4, seed 0)."""
    config, _ = tiny_config
    work_dir = str(tmp_path_factory.mktemp('resume') / 'work')
    load_train_tool().main([config, '--work-dir', work_dir])
    return work_dir


def test_resume_refuses_weights_only_and_other_models(tiny_config, trained,
                                                     capsys):
    """As the command line prints them (``run_tool``): one line, no
    traceback (they were ``KeyError: 'meta'`` and torch's parameter-group
    error)."""
    config, _ = tiny_config
    shipped = osp.join(ROOT, 'checkpoints/llava-tiny-shapes/'
                       'llava-tiny-shapes-a01aa8b8.pth')
    tool = load_train_tool()
    assert run_tool(tool.main, [config, '--work-dir', trained + '_w',
                                '--resume', shipped],
                    tool_file=tool.__file__) == 1
    err = capsys.readouterr().err
    assert err.endswith(
        f'error: --resume {shipped}: the file holds model weights only (no '
        '"meta" with the iteration, no optimizer state), e.g. a released or '
        'published model. --resume continues a tools/train.py run from its '
        "work dir's iter_N.pth; to train from these weights start a new run "
        f'with --cfg-options load_from={shipped}.\n')
    assert 'Traceback' not in err

    tool = load_train_tool()
    with pytest.raises(ValueError, match=(
            r'iter_3.pth: the checkpoint is of another model than the config '
            r'builds \(\d+ tensors differ in shape, e.g. .*: \(\d+, \d+\) in '
            r'the file, \(\d+, \d+\) in the model\)')):
        tool.main([config, '--work-dir', trained, '--resume', '--cfg-options',
                   'model.lang_encoder.config.hidden_size=32'])


def test_resume_with_changed_settings(tiny_config, trained, capfd):
    config, _ = tiny_config
    tool = load_train_tool()
    changed = ['optim_wrapper.optimizer.lr=0.002', 'randomness.seed=5',
               'train_dataloader.batch_size=2',
               'train_dataloader.sampler.batch_size=2',
               'train_cfg.max_iters=4', 'default_hooks.checkpoint.interval=4']
    with pytest.raises(ValueError) as e:
        tool.main([config, '--work-dir', trained, '--resume',
                   '--cfg-options', *changed])
    assert str(e.value) == (
        f"--resume {trained}/iter_3.pth: this run's settings differ from the "
        "checkpoint's run (learning rate (optim_wrapper.optimizer.lr): 0.001 "
        'in the checkpoint, 0.002 now; batch size per process '
        '(train_dataloader.batch_size): 4 in the checkpoint, 2 now; seed '
        '(randomness.seed): 0 in the checkpoint, 5 now). Resume with the '
        'settings it was trained with, or pass --resume-with-changes to '
        'continue with the new ones.')
    assert not osp.exists(osp.join(trained, 'iter_4.pth'))

    args = tool.parse_args([config, '--work-dir', trained, '--resume',
                            '--resume-with-changes', '--cfg-options',
                            *changed])
    runner = tool.build_runner(tool.merge_args(tool.Config.fromfile(config),
                                               args))
    capfd.readouterr()
    runner.train()
    assert runner.iter == 4
    assert runner.optim_wrapper.get_lr()['lr'] == [pytest.approx(0.002)]
    assert runner.seed == 5
    console = capfd.readouterr()
    for line in ('learning rate (optim_wrapper.optimizer.lr) changed from '
                 '0.001 to 0.002', 'seed (randomness.seed) changed from 0 to '
                 '5', 'batch size per process (train_dataloader.batch_size) '
                 'changed from 4 to 2'):
        assert f'--resume-with-changes: {line}' in console.out + console.err
