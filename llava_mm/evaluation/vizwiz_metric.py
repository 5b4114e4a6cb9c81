"""The VizWiz-VQA test submission, as LLaVA's
``scripts/convert_vizwiz_for_submission.py`` writes it."""
from typing import Dict, List

from mmengine.fileio import dump
from mmengine.logging import print_log

from llava_mm.registry import METRICS

from .bench_metric import FileWritingMetric
from .vqa_answers import evalai_answer


@METRICS.register_module()
class ReportVizWiz(FileWritingMetric):
    """Write ``[{"image", "answer"}]`` for the VizWiz EvalAI server.

    One entry per question, in question-file order; each answer is the
    model's text through the EvalAI answer processor
    (:func:`~.vqa_answers.evalai_answer`).

    Args:
        file_path (str, optional): The file; defaults to
            ``<work_dir>/vizwiz_submission.json``.
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Defaults to ``'VizWiz'``.

    Returns from ``compute_metrics``: ``num_answers``.
    """

    default_prefix = 'VizWiz'
    default_file_name = 'vizwiz_submission.json'
    keys = ('image', 'question')
    dataset = 'llava_mm.datasets.LLaVAEvalQuestions'

    def sample_log(self, sample: dict) -> dict:
        """What ``--out`` records of one sample, beside its prediction.

        Args:
            sample (dict): The dataset's sample with ``pred_answer``.

        Returns:
            dict: ``question`` and ``submitted_answer``.
        """
        return dict(question=sample['question'],
                    submitted_answer=evalai_answer(sample['pred_answer']))

    def compute_metrics(self, results: List[dict]) -> Dict[str, int]:
        """Write the file.

        Args:
            results (list[dict]): What ``process`` kept.

        Returns:
            dict: ``num_answers``.
        """
        path = self.require_file_path()
        dump([dict(image=r['image'], answer=evalai_answer(r['pred_answer']))
              for r in results], path)
        print_log(f'Wrote {len(results)} VizWiz answers to {path}.',
                  logger='current')
        return {'num_answers': len(results)}
