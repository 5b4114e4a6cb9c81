"""The contract between a metric and
:class:`~llava_mm.engine.ResumableTestLoop`.

The loop keeps predictions on disk and feeds them to the metrics at the
end, so it calls a few hooks besides mmengine's ``process`` and
``compute_metrics``. :class:`ResumableMetric` declares them with defaults
that do nothing; every metric of llava_mm derives from it, and the loop
calls the hooks of the metrics that do (others, e.g. mmengine's, run as
plain ``BaseMetric``).
"""
from typing import List

from mmengine.evaluator import BaseMetric


class ResumableMetric(BaseMetric):
    """A ``BaseMetric`` with the hooks the resumable test loop calls.

    - :meth:`set_work_dir` when the loop is built (where output files go);
    - :meth:`check_dataset` before any prediction (ground truth of another
      copy of the data fails here, not after hours of generation);
    - :meth:`sample_log` per sample when ``--out`` writes the predictions
      (the question, ground truth or per-sample score next to each).
    """

    def set_work_dir(self, work_dir: str) -> None:
        """Learn the run's work dir (default: nothing to do).

        Args:
            work_dir (str): The runner's work dir.
        """

    def check_dataset(self, dataset) -> None:
        """Refuse a test dataset that does not fit this metric (default:
        any fits).

        Args:
            dataset (BaseDataset): The test dataset.
        """

    def sample_log(self, sample: dict) -> dict:
        """What ``--out`` records of one sample, beside its prediction
        (default: nothing).

        Args:
            sample (dict): The sample's ground truth and ``pred_*`` fields.

        Returns:
            dict: Fields to add to the sample's record.
        """
        return {}


def resumable_metrics(metrics: List[BaseMetric]) -> List[ResumableMetric]:
    """The metrics of an evaluator that take the loop's hooks.

    Args:
        metrics (list[BaseMetric]): ``Evaluator.metrics``.

    Returns:
        list[ResumableMetric]: Those that derive from
        :class:`ResumableMetric`, in order.
    """
    return [m for m in metrics if isinstance(m, ResumableMetric)]
