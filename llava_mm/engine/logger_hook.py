"""mmengine's LoggerHook with the test metrics file written by rank 0 only.

mmengine 0.10's ``LoggerHook.after_test_epoch`` writes
``<work_dir>/<timestamp>/<timestamp>.json`` on every rank. With several
processes they write the same file at the same time, and it can end up with
two JSON documents run together (seen in the 2-process test of
``tools/test.py``). The metrics are the same on every rank (the evaluator
broadcasts them), so rank 0 alone writes and logs them here.
"""
from typing import Dict, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import LoggerHook

from llava_mm.registry import HOOKS


@HOOKS.register_module()
class RankZeroLoggerHook(LoggerHook):
    """:class:`mmengine.hooks.LoggerHook`, test metrics written once.

    Takes the same arguments as ``LoggerHook``.
    """

    def after_test_epoch(self,
                         runner,
                         metrics: Optional[Dict[str, float]] = None) -> None:
        """Log and write the test metrics on rank 0.

        Args:
            runner (Runner): The runner of the test.
            metrics (dict, optional): The test metrics.
        """
        if is_main_process():
            super().after_test_epoch(runner, metrics)
