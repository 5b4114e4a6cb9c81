"""mmengine's Runner for an evaluation people read: a short console, the
details in the log file, and a closing table of metrics and files.

Without ``verbose`` the console shows warnings and errors only (plus the
progress bar of :class:`ResumableTestLoop` and the closing table); the
environment dump, the config, the hook table and every INFO line still go
to ``<work_dir>/<timestamp>/<timestamp>.log``.
"""
import glob
import logging
import os.path as osp
from typing import Dict, List, Optional

from mmengine.runner import Runner

# Default hooks that only act while training; None disables one.
TRAINING_HOOKS = ('param_scheduler', 'checkpoint', 'sampler_seed')


def test_default_hooks(default_hooks: Optional[dict]) -> dict:
    """The config's default hooks without those that only act in training.

    Args:
        default_hooks (dict, optional): ``cfg.default_hooks``.

    Returns:
        dict: The same hooks, training ones set to None (mmengine would
        otherwise add its defaults for them).
    """
    hooks = dict(default_hooks or {})
    hooks.update({name: None for name in TRAINING_HOOKS})
    return hooks


class EvalRunner(Runner):
    """:class:`mmengine.runner.Runner` whose console shows warnings only.

    Args:
        *args: Arguments of ``Runner``.
        verbose (bool): Keep mmengine's console output (every INFO line).
        **kwargs: Keyword arguments of ``Runner``.
    """

    def __init__(self, *args, verbose: bool = False, **kwargs) -> None:
        self.verbose = verbose
        super().__init__(*args, **kwargs)

    def build_logger(self, log_level='INFO', log_file=None, **kwargs):
        """mmengine's logger; its console handler at WARNING unless verbose.

        Args:
            log_level (int | str): Level of the log file.
            log_file (str, optional): The log file.
            **kwargs: Other ``MMLogger`` arguments.

        Returns:
            MMLogger: The logger.
        """
        logger = super().build_logger(log_level, log_file, **kwargs)
        if not self.verbose:
            for handler in logger.handlers:
                if not isinstance(handler, logging.FileHandler):
                    handler.setLevel(max(handler.level, logging.WARNING))
        return logger

    def log_file(self) -> Optional[str]:
        """The path of this run's log file, if it has one.

        Returns:
            str, optional: The file the logger writes.
        """
        for handler in self.logger.handlers:
            if isinstance(handler, logging.FileHandler):
                return handler.baseFilename
        return None


def summary(runner: EvalRunner, metrics: Dict[str, float],
            out: Optional[str] = None) -> str:
    """The closing table: each metric, then where the files are.

    Args:
        runner (EvalRunner): The runner of the finished test.
        metrics (dict): What ``runner.test()`` returned.
        out (str, optional): The ``--out`` file.

    Returns:
        str: The table, ready to print.
    """
    rows: List[tuple] = [(name, f'{value:.4f}' if isinstance(
        value, float) else str(value)) for name, value in metrics.items()]
    if not rows:
        rows = [('(no metrics)', 'the run stopped early; --resume '
                 'continues it')]
    files = [('work dir', runner.work_dir), ('log', runner.log_file())]
    files += [('predictions', path) for path in sorted(glob.glob(
        osp.join(runner.work_dir, 'predictions_rank*.jsonl')))]
    for metric in runner.test_loop.evaluator.metrics:
        path = getattr(metric, 'file_path', None)
        if path is not None and osp.isfile(path):
            files.append((f'{type(metric).__name__} file', path))
    if out is not None and osp.isfile(out):
        files.append(('--out samples', out))
    width = max(len(name) for name, _ in rows + files)
    line = '-' * (width + 2 + max(len(str(v)) for _, v in rows + files))
    text = [line, f'{"metric".ljust(width)}  value', line]
    text += [f'{name.ljust(width)}  {value}' for name, value in rows]
    text += [line] + [f'{name.ljust(width)}  {path}'
                      for name, path in files if path] + [line]
    return '\n'.join(text)
