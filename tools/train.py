"""Train (fine-tune) a LLaVA model with mmengine's Runner.

Examples::

    # one process (CPU or one GPU)
    python tools/train.py CONFIG
    # resume from the latest checkpoint of the work dir
    python tools/train.py CONFIG --resume
    # resume although the learning rate, batch size or seed changed
    python tools/train.py CONFIG --resume --resume-with-changes
    # several GPUs
    bash tools/dist_train.sh CONFIG 8 --amp

A config with ``runner_type = 'FlexibleRunner'`` and a ``strategy`` (e.g.
``FSDPStrategy`` or ``DeepSpeedStrategy``) is built with mmengine's
FlexibleRunner, see docs/training.md.

One run at a time per work dir: a second run on the same work dir (also a
tools/test.py run) is refused while the first one lives.
"""
import argparse
import os.path as osp
import sys

import torch
from mmengine.config import Config

import llava_mm  # noqa: F401  (registers the modules)
from llava_mm.apis.runner_args import (
    add_launcher_args,
    check_batch_size,
    export_local_rank,
    launcher_rank,
    load_config,
    set_launcher_and_work_dir,
)
from llava_mm.engine import LlavaRunner
from llava_mm.engine.config_text import TextOnceConfig
from llava_mm.engine.resume_check import RESUME_FLAG
from llava_mm.engine.run_lock import WorkDirLock
from llava_mm.registry import RUNNERS
from llava_mm.utils.cfg_options import add_cfg_options_arg
from llava_mm.utils.user_errors import run_tool


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments (see the module docstring)."""
    parser = argparse.ArgumentParser(description='Train a LLaVA model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='where to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint; without a path, resume from the '
        'latest checkpoint in the work dir')
    parser.add_argument(
        RESUME_FLAG, action='store_true',
        help='with --resume: continue although the learning rate, batch '
        'size, seed or number of processes differ from the checkpoint\'s '
        'run (refused without it); the new values are applied and printed')
    parser.add_argument(
        '--amp', action='store_true',
        help='automatic mixed precision (mmengine AmpOptimWrapper; needs a '
        'GPU). fp16 with dynamic loss scaling unless the config sets '
        'optim_wrapper.dtype')
    add_cfg_options_arg(parser,
                        'train_cfg.max_iters=100 model.freeze_lm=True')
    add_launcher_args(parser)
    args = parser.parse_args(argv)
    if args.resume_with_changes and args.resume is None:
        parser.error(f'{RESUME_FLAG} goes with --resume.')
    export_local_rank(args)
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command-line options to the config.

    Args:
        cfg (Config): The loaded config.
        args (argparse.Namespace): Parsed arguments.

    Returns:
        Config: The updated config.
    """
    if 'train_dataloader' not in cfg or 'train_cfg' not in cfg:
        raise ValueError(
            f'{args.config} is not a training config: it has no '
            'train_dataloader/train_cfg. Use a *_train.py config, e.g. '
            'projects/tiny_shapes/configs/llava-tiny-shapes_train.py.')
    set_launcher_and_work_dir(cfg, args)

    if args.amp:
        strategy = cfg.get('strategy') or {}
        if 'DeepSpeed' in str(strategy.get('type', '')):
            raise ValueError('With DeepSpeed set mixed precision in the '
                             'strategy (fp16=dict(enabled=True) or bf16=...)'
                             ', not with --amp.')
        if not torch.cuda.is_available():
            raise RuntimeError('--amp needs a GPU (mmengine AmpOptimWrapper '
                               'runs on CUDA/NPU/MLU only); drop --amp to '
                               'train in fp32 on CPU.')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        if cfg.optim_wrapper.get('dtype') in (None, 'float16'):
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    # After --cfg-options: an explicit --resume PATH wins over load_from.
    if args.resume is not None:
        set_resume(cfg, args)
    check_batch_size(cfg, 'train_dataloader')
    iters = cfg.train_cfg.get('max_iters')
    if iters is not None and not (isinstance(iters, int) and iters > 0):
        raise ValueError(f'train_cfg.max_iters={iters!r}: use a positive '
                         'integer.')
    loader = cfg.train_dataloader
    sampler_bs = (loader.get('sampler') or {}).get('batch_size')
    if sampler_bs is not None and sampler_bs != loader.get('batch_size'):
        raise ValueError(
            f'train_dataloader.sampler.batch_size={sampler_bs} differs from '
            f'train_dataloader.batch_size={loader.get("batch_size")}: the '
            'sampler cuts its order into batches of its own size, so set '
            'both (e.g. from one batch_size variable of the config).')
    load_from = cfg.get('load_from')
    if load_from and not cfg.get('resume') and not osp.isfile(load_from) \
            and '://' not in load_from:
        raise FileNotFoundError(
            f'load_from={load_from!r} does not exist. Train the stage this '
            'config starts from first (see the comment at the top of the '
            'config), or pass --cfg-options load_from=None to start from '
            'random weights (to continue a run instead, use --resume '
            '[PATH]).')

    if args.launcher != 'none' and not torch.cuda.is_available():
        # mmengine's init_dist calls torch.cuda.set_device for every launcher.
        raise RuntimeError(
            f'--launcher {args.launcher} needs GPUs (mmengine initialises '
            'distributed training on CUDA devices). On a CPU-only machine '
            'train with --launcher none.')
    return TextOnceConfig.from_config(cfg)


def set_resume(cfg: Config, args: argparse.Namespace) -> None:
    """Apply ``--resume`` (after ``--cfg-options``).

    ``--resume PATH`` resumes from PATH whatever ``load_from`` says; a
    ``--cfg-options load_from=OTHER`` naming another file is refused.
    ``--resume`` alone resumes from the work dir's ``last_checkpoint``.

    Args:
        cfg (Config): The config, ``--cfg-options`` merged.
        args (argparse.Namespace): Parsed arguments.
    """
    cfg.resume = True
    cfg.resume_with_changes = args.resume_with_changes
    if args.resume == 'auto':
        cfg.load_from = None
        if not osp.isfile(osp.join(cfg.work_dir, 'last_checkpoint')):
            # mmengine then trains from scratch, logging "resumed from None"
            print(f'--resume: {cfg.work_dir} has no checkpoint to resume '
                  '(no last_checkpoint file): starting a new run at '
                  'iteration 0.', file=sys.stderr, flush=True)
        return
    if not osp.isfile(args.resume):
        raise FileNotFoundError(f'--resume {args.resume}: no such '
                                'checkpoint file.')
    other = (args.cfg_options or {}).get('load_from')
    if other not in (None, 'None', args.resume):
        raise ValueError(
            f'--resume {args.resume} and --cfg-options load_from={other} '
            'name different files. --resume PATH continues that run '
            '(weights, optimizer, iteration); load_from only loads weights '
            'into a new run. Pass one of them.')
    cfg.load_from = args.resume


def build_runner(cfg: Config):
    """The Runner, or the runner named by ``cfg.runner_type``.

    Args:
        cfg (Config): A training config.

    Returns:
        LlavaRunner | mmengine.runner.FlexibleRunner: The runner
        (:class:`~llava_mm.engine.LlavaRunner` reads checkpoints without
        running code from them).
    """
    if 'runner_type' not in cfg:
        return LlavaRunner.from_cfg(cfg)
    return RUNNERS.build(cfg)


def main(argv=None) -> None:
    """Entry point."""
    args = parse_args(argv)
    cfg = merge_args(load_config(args.config), args)
    # Rank 0 holds the work dir (the Runner writes to it when it is built).
    lock = WorkDirLock(cfg.work_dir, 'training run')
    if launcher_rank(args.launcher) == 0:
        lock.acquire()
    try:
        build_runner(cfg).train()
    finally:
        lock.release()


if __name__ == '__main__':
    sys.exit(run_tool(main, tool_file=__file__))
