"""Evaluate a LLaVA checkpoint with mmengine's Runner (one or many processes).

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]
        [--cfg-options k=v ...] [--launcher none|pytorch|slurm] [--resume]
        [--dtype fp32|fp16|bf16] [--quantization int8|nf4]
        [--tokenizer DIR] [--data-root DIR] [--prompt TEXT]
        [--prompt-tmpl TEXT] [--show-dir DIR [--show-interval N]]
        [--verbose]

Predictions are appended to ``<work_dir>/predictions_rank<R>.jsonl`` while
the run goes; ``--resume`` continues an interrupted run from them.
"""
import argparse
import datetime
import os
import sys

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.logging import print_log
from mmengine.registry import init_default_scope

from llava_mm.apis import init_model
from llava_mm.apis.inference import check_local_files
from llava_mm.apis.runner_args import (
    add_launcher_args,
    check_batch_size,
    export_local_rank,
    load_config,
    set_launcher_and_work_dir,
)
from llava_mm.engine.batching import resolve_batch_size, resolve_num_workers
from llava_mm.engine.config_text import TextOnceConfig
from llava_mm.engine.eval_config import (
    apply_data_root,
    apply_prompts,
    data_files,
    missing_data_message,
)
from llava_mm.engine.eval_runner import EvalRunner, summary, test_default_hooks
from llava_mm.engine.test_loop import OUT_FORMATS, check_out_format
from llava_mm.registry import EVALUATOR
from llava_mm.utils import third_party
from llava_mm.utils.cfg_options import add_cfg_options_arg
from llava_mm.utils.errors import cli_wording
from llava_mm.utils.output_paths import check_not_inputs, check_out_file
from llava_mm.utils.user_errors import run_tool

# The loading options (as load errors name them) -> how this tool sets them.
CLI_FLAGS = {
    'pretrained': 'python tools/test.py CONFIG /path/to/file.pth',
    'model.tokenizer.name_or_path': '--tokenizer DIR',
    'model.lang_encoder.name_or_path':
    '--cfg-options model.lang_encoder.name_or_path=DIR',
    'model.vision_encoder.pretrained':
    '--cfg-options model.vision_encoder.pretrained=PATH',
}


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments.

    Args:
        argv (list[str], optional): Defaults to ``sys.argv[1:]``.

    Returns:
        argparse.Namespace: The parsed arguments.
    """
    parser = argparse.ArgumentParser(
        description='Evaluate a LLaVA model (COCO caption, VQAv2, the '
        'LLaVA-1.5 benchmarks).')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='OpenMMLab LLaVA checkpoint')
    parser.add_argument(
        '--work-dir', help='where logs, the dumped config and the '
        'predictions go; defaults to work_dirs/<config name>')
    parser.add_argument(
        '--out', help='write all predictions with their ids to this file '
        f'at the end ({", ".join(OUT_FORMATS)})')
    parser.add_argument(
        '--resume', action='store_true', help='continue an interrupted run: '
        'keep the predictions in the work dir, generate only the missing '
        'ones')
    add_cfg_options_arg(parser, 'test_dataloader.batch_size=2 '
                        'model.generation_cfg.max_new_tokens=5')
    parser.add_argument(
        '--tokenizer', metavar='DIR', help='tokenizer folder (or hub name) '
        "instead of the config's model.tokenizer.name_or_path")
    parser.add_argument(
        '--dtype', choices=['fp32', 'fp16', 'bf16'], default=None,
        help="parameter dtype (default: the checkpoint's own)")
    add_data_and_prompt_args(parser)
    parser.add_argument(
        '--show-dir', help='draw predictions next to their ground truth '
        'and save the pictures in this directory')
    parser.add_argument(
        '--show-interval', type=int, default=1, help='with --show-dir, '
        'draw every N-th sample (dataset indices 0, N, 2N, ...)')
    parser.add_argument(
        '--quantization', choices=['int8', 'nf4'], default=None,
        help="weight-only low-bit LM decoder layers (needs "
        "'llava_mm[quant]'); default: the config's model.quantization")
    add_launcher_args(parser)
    args = parser.parse_args(argv)
    export_local_rank(args)
    return args


def add_data_and_prompt_args(parser: argparse.ArgumentParser) -> None:
    """``--data-root``, ``--prompt`` and ``--prompt-tmpl``.

    Args:
        parser (argparse.ArgumentParser): The parser to extend.
    """
    parser.add_argument(
        '--data-root', help='root of the test data: moves the dataset and '
        "the evaluator's ground-truth files (paths under the config's "
        'data_root) together')
    parser.add_argument(
        '--prompt', help='caption instruction (model.caption_prompt), '
        'checked for the model')
    parser.add_argument(
        '--verbose', action='store_true', help="print mmengine's full "
        'output (environment, config, hooks, per-batch lines) on the '
        'console too; it always goes to the log file')
    parser.add_argument(
        '--prompt-tmpl', help='whole prompt template (model.prompt_tmpl) '
        'with <image> and, for VQA, {question}; \\n is a newline')


def apply_data_and_prompt_args(cfg: Config,
                               args: argparse.Namespace) -> None:
    """Apply ``--data-root`` and the prompt options to the config.

    Args:
        cfg (Config): The config; changed in place.
        args (argparse.Namespace): From :func:`parse_args`.
    """
    if args.data_root is not None:
        for line in apply_data_root(cfg, args.data_root):
            print_log(f'--data-root: {line}', logger='current')
    apply_prompts(cfg, args.prompt, args.prompt_tmpl)


def local_device(launcher: str) -> str:
    """The device this process's model goes to.

    Args:
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Returns:
        str: ``'cpu'`` without CUDA, else this process's GPU, chosen as
        mmengine's ``init_dist`` will choose it.
    """
    if not torch.cuda.is_available():
        return 'cpu'
    if launcher == 'pytorch':
        return f'cuda:{int(os.environ.get("LOCAL_RANK", 0))}'
    if launcher == 'slurm':
        proc = int(os.environ.get('SLURM_PROCID', 0))
        return f'cuda:{proc % torch.cuda.device_count()}'
    if launcher == 'mpi':
        return f'cuda:{int(os.environ.get("OMPI_COMM_WORLD_LOCAL_RANK", 0))}'
    return 'cuda:0'


def init_cpu_dist(launcher: str, cfg: Config) -> None:
    """Start the gloo process group for a CPU-only distributed run.

    mmengine's ``init_dist`` always selects a CUDA device, which fails on a
    machine without one; the Runner skips it when the group exists.

    Args:
        launcher (str): The launcher; only ``'pytorch'`` (torchrun) works
            without CUDA.
        cfg (Config): For ``env_cfg.dist_cfg.timeout``.
    """
    if launcher == 'none' or torch.cuda.is_available() or \
            dist.is_initialized():
        return
    if launcher != 'pytorch':
        raise SystemExit(f'--launcher {launcher} needs CUDA; on CPU start '
                         'the processes with torchrun (tools/dist_test.sh).')
    timeout = cfg.env_cfg.get('dist_cfg', {}).get('timeout')
    kwargs = {} if timeout is None else dict(
        timeout=datetime.timedelta(seconds=timeout))
    dist.init_process_group(backend='gloo', **kwargs)


def setup_cfg(args: argparse.Namespace) -> Config:
    """Load the config and apply the command line to it.

    Args:
        args (argparse.Namespace): From :func:`parse_args`.

    Returns:
        Config: The config to run.
    """
    cfg = load_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.tokenizer is not None:
        cfg.model.tokenizer.name_or_path = args.tokenizer
    apply_data_and_prompt_args(cfg, args)
    set_launcher_and_work_dir(cfg, args)
    for key in ('test_dataloader', 'test_evaluator'):
        if cfg.get(key) is None:
            raise ValueError(f'{args.config} has no {key}; use a config of '
                             'configs/llava/ that names a dataset.')
    check_batch_size(cfg, 'test_dataloader', allow_auto=True)
    if not torch.cuda.is_available():
        env_cfg = cfg.get('env_cfg') or {}
        env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
        cfg.env_cfg = env_cfg
    test_cfg = dict(cfg.get('test_cfg') or {})
    loop = test_cfg.get('type', 'TestLoop')
    if loop not in ('TestLoop', 'ResumableTestLoop'):
        raise ValueError(f'test_cfg.type={loop!r}: tools/test.py runs '
                         'ResumableTestLoop (predictions on disk, --resume, '
                         '--out); use that or TestLoop.')
    test_cfg.update(type='ResumableTestLoop', resume=args.resume,
                    checkpoint=args.checkpoint)
    if args.out is not None:
        test_cfg['out'] = args.out
    cfg.test_cfg = test_cfg
    if args.show_dir is not None:
        if args.show_interval < 1:
            raise ValueError(f'--show-interval {args.show_interval}: use a '
                             'positive number.')
        if os.path.exists(args.show_dir) and not os.path.isdir(
                args.show_dir):
            raise NotADirectoryError(f'--show-dir {args.show_dir} is a file: '
                                     'name a folder for the drawings.')
        cfg.default_hooks = dict(
            cfg.get('default_hooks') or {},
            visualization=dict(type='VisualizationHook', out_dir=args.show_dir,
                               interval=args.show_interval))
    # Each rank runs its own model copy; DDP is for training.
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(type='llava_mm.InferenceWrapper')
    return TextOnceConfig.from_config(cfg)


def main(argv=None) -> dict:
    """Run the evaluation.

    Args:
        argv (list[str], optional): Command line; defaults to sys.argv.

    Returns:
        dict: The metrics (on every rank).
    """
    args = parse_args(argv)
    if args.verbose:
        third_party.show_all()
    if args.out is not None:
        check_out_format(args.out, '--out')
        check_out_file(args.out, '--out', creates_folder=True)
    cfg = setup_cfg(args)
    if args.out is not None:
        check_not_inputs([args.out], data_files(cfg) + [args.checkpoint],
                         '--out')
    with cli_wording(CLI_FLAGS):  # before the data, Java, a 7B model
        check_local_files(cfg.model, args.checkpoint)
    problem = missing_data_message(cfg, args.config)
    if problem is not None:
        raise FileNotFoundError(problem)
    init_default_scope(cfg.get('default_scope', 'llava_mm'))
    init_cpu_dist(args.launcher, cfg)
    # Build the metrics first: missing Java or a bad ground-truth file
    # fails here, before a 7B model is loaded.
    evaluator = cfg.test_evaluator
    if not (isinstance(evaluator, dict) and 'metrics' in evaluator):
        evaluator = dict(type='Evaluator', metrics=evaluator)
    evaluator = EVALUATOR.build(evaluator)
    # The vision file named by the config is loaded too (strict checks);
    # the Runner's load_from would skip it.
    with cli_wording(CLI_FLAGS):
        model = init_model(cfg, args.checkpoint,
                           device=local_device(args.launcher),
                           dtype=args.dtype, quantization=args.quantization)
    loader = cfg.test_dataloader
    loader.batch_size = resolve_batch_size(loader.get('batch_size', 'auto'),
                                           model)
    loader.num_workers = resolve_num_workers(
        loader.get('num_workers', 'auto'), model)
    runner = EvalRunner(
        model=model,
        verbose=args.verbose,
        work_dir=cfg.work_dir,
        test_dataloader=cfg.test_dataloader,
        test_cfg=cfg.test_cfg,
        test_evaluator=evaluator,
        default_hooks=test_default_hooks(cfg.get('default_hooks')),
        custom_hooks=cfg.get('custom_hooks'),
        launcher=cfg.launcher,
        env_cfg=cfg.get('env_cfg', dict(dist_cfg=dict(backend='nccl'))),
        log_processor=cfg.get('log_processor'),
        log_level=cfg.get('log_level', 'INFO'),
        visualizer=cfg.get('visualizer'),
        default_scope=cfg.get('default_scope', 'llava_mm'),
        randomness=cfg.get('randomness', dict(seed=None)),
        experiment_name=cfg.get('experiment_name'),
        cfg=cfg)
    metrics = runner.test()
    if is_main_process():
        print(summary(runner, metrics, args.out), flush=True)
    if dist.is_available() and dist.is_initialized():
        # Leave together and stop the process group before exit: a rank that
        # exits while gloo's threads still run aborts ("terminate called
        # without an active exception"), seen once in the 2-process test.
        dist.barrier()
        dist.destroy_process_group()
    return metrics


if __name__ == '__main__':
    sys.exit(run_tool(main, tool_file=__file__))
