"""What the benchmark metrics share: collecting predictions with their ground
truth, and writing a file (a submission, or the official tool's input)."""
import os.path as osp
from typing import List, Optional, Sequence

from .resumable_metric import ResumableMetric


class SubmissionFileMixin:
    """A metric that writes a file, by default into the run's work dir.

    Set ``file_path`` (None: ``<work_dir>/<default_file_name>``, filled in
    by :class:`~llava_mm.engine.ResumableTestLoop` through
    :meth:`set_work_dir`). ``tools/test.py`` lists the file in its closing
    table.
    """

    #: File name in the work dir when no ``file_path`` is given.
    default_file_name = 'submission.json'

    def init_file_path(self, file_path: Optional[str]) -> None:
        """Check and keep ``file_path``.

        Args:
            file_path (str, optional): Where to write; its extension must be
                that of ``default_file_name``.
        """
        ext = osp.splitext(self.default_file_name)[1]
        if file_path is not None and not file_path.endswith(ext):
            raise ValueError(f'{type(self).__name__} writes {ext} files; '
                             f'file_path must end in {ext}, got '
                             f'{file_path}.')
        self.file_path = file_path

    def set_work_dir(self, work_dir: str) -> None:
        """Put the file in the work dir unless ``file_path`` was given.

        Args:
            work_dir (str): The runner's work dir.
        """
        if self.file_path is None:
            self.file_path = osp.join(work_dir, self.default_file_name)

    def require_file_path(self) -> str:
        """The file to write.

        Returns:
            str: ``file_path``.
        """
        if self.file_path is None:
            raise ValueError(f'{type(self).__name__} has no file_path: set '
                             'one in the config or run it with '
                             'ResumableTestLoop.')
        return self.file_path


class BenchmarkMetric(ResumableMetric):
    """Keep each sample's ``pred_answer`` and the fields it is scored with.

    Subclasses name the sample fields they need in ``keys`` (set by the
    benchmark's dataset) and score ``self.results`` in
    ``compute_metrics``. Each sample comes once from
    :class:`~llava_mm.engine.ResumableTestLoop`, which ``tools/test.py``
    always runs.

    Args:
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Metric name prefix; defaults to the
            class's ``default_prefix``.
    """

    #: Sample fields each result keeps (besides ``pred_answer``).
    keys: Sequence[str] = ()
    #: The dataset class that sets them, for the error message.
    dataset = 'the benchmark\'s dataset'

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep the prediction and ground truth of each sample.

        Args:
            data_batch: Unused.
            data_samples (Sequence[dict]): Predictions with ground truth.
        """
        for sample in data_samples:
            if sample.get('pred_answer') is None:
                raise KeyError(f'{type(self).__name__} needs "pred_answer" '
                               'in each sample; is the model configured '
                               'with task="vqa"?')
            missing = [k for k in self.keys if k not in sample]
            if missing:
                raise KeyError(
                    f'{type(self).__name__} needs {missing} in each sample, '
                    f'set by {self.dataset}; is the test dataset the one '
                    'of this benchmark?')
            result = {k: sample[k] for k in self.keys}
            result['pred_answer'] = sample['pred_answer']
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> dict:
        """Score the results (subclasses).

        Args:
            results (list[dict]): What ``process`` kept, from all ranks.

        Returns:
            dict: The metrics.
        """
        raise NotImplementedError


class FileWritingMetric(SubmissionFileMixin, BenchmarkMetric):
    """A :class:`BenchmarkMetric` that also writes a file
    (:class:`SubmissionFileMixin`).

    Args:
        file_path (str, optional): The file; defaults to
            ``<work_dir>/<default_file_name>``.
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Metric name prefix.
    """

    def __init__(self, file_path: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.init_file_path(file_path)


def percent(part: float, whole: float) -> float:
    """``100 * part / whole``, 0 for an empty whole.

    Args:
        part (float): Numerator.
        whole (float): Denominator.

    Returns:
        float: The percentage.
    """
    return 100.0 * part / whole if whole else 0.0
