"""Command-line options that ``tools/test.py`` and ``tools/train.py`` share:
the job launcher and the work dir."""
import argparse
import os
import os.path as osp

from mmengine.config import Config

from llava_mm.apis.model_index import CONFIG_EXTENSIONS


def load_config(path: str) -> Config:
    """``Config.fromfile`` with one-line errors for a missing or foreign
    file.

    Args:
        path (str): The config argument of a tool.

    Returns:
        Config: The config.
    """
    if not path.endswith(CONFIG_EXTENSIONS):
        raise ValueError(
            f'{path} is not a config file: configs are Python files (.py, '
            'e.g. configs/llava/llava-7b-v1.5_caption.py; mmengine also '
            'reads .json/.yaml/.yml).')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'Config file not found: {path}. Pass an existing config, e.g. '
            'configs/llava/llava-7b-v1.5_caption.py.')
    return Config.fromfile(path)


def launcher_rank(launcher: str) -> int:
    """This process's global rank as the launcher set it, before the
    process group exists.

    Args:
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Returns:
        int: 0 for ``'none'``.
    """
    variable = {'pytorch': 'RANK', 'slurm': 'SLURM_PROCID',
                'mpi': 'OMPI_COMM_WORLD_RANK'}.get(launcher)
    return int(os.environ.get(variable, 0)) if variable else 0


def add_launcher_args(parser: argparse.ArgumentParser) -> None:
    """``--launcher`` and ``--local-rank`` (as ``torch.distributed.launch``
    passes it).

    Args:
        parser (argparse.ArgumentParser): The parser to extend.
    """
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def export_local_rank(args: argparse.Namespace) -> None:
    """Put ``--local-rank`` into ``LOCAL_RANK`` for a launched job, unless
    the launcher (torchrun) has set it already.

    Args:
        args (argparse.Namespace): With ``launcher`` and ``local_rank``.
    """
    if args.launcher != 'none' and 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)


def set_launcher_and_work_dir(cfg: Config, args: argparse.Namespace) -> None:
    """``cfg.launcher`` from ``--launcher``; ``cfg.work_dir`` from
    ``--work-dir``, else the config's, else ``work_dirs/<config name>``.

    Args:
        cfg (Config): The config; changed in place.
        args (argparse.Namespace): With ``config``, ``launcher`` and
            ``work_dir``.
    """
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if osp.exists(cfg.work_dir) and not osp.isdir(cfg.work_dir):
        raise NotADirectoryError(f'--work-dir {cfg.work_dir} is a file: '
                                 'name a folder for the logs and outputs.')


def check_batch_size(cfg: Config, loader: str,
                     allow_auto: bool = False) -> None:
    """Refuse a batch size of the config's ``loader`` that is not a positive
    integer (torch would fail later, inside its sampler), before the model
    is loaded.

    Args:
        cfg (Config): The config.
        loader (str): ``'train_dataloader'`` or ``'test_dataloader'``.
        allow_auto (bool): Accept ``'auto'`` (tools/test.py picks it).
    """
    size = (cfg.get(loader) or {}).get('batch_size')
    if size is None or (allow_auto and size == 'auto'):
        return
    if not (isinstance(size, int) and not isinstance(size, bool)
            and size > 0):
        raise ValueError(f'{loader}.batch_size={size!r}: use a positive '
                         'integer' + (" or 'auto'." if allow_auto else '.'))
