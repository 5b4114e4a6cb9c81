"""GQA accuracy: LLaVA's ``scripts/convert_gqa_for_eval.py``, then the
accuracy of GQA's ``eval.py``."""
from typing import Dict, List

from mmengine.fileio import dump
from mmengine.logging import print_log

from llava_mm.registry import METRICS

from .bench_metric import FileWritingMetric, percent


def gqa_prediction(text: str) -> str:
    """The prediction LLaVA writes for GQA's evaluation.

    Args:
        text (str): The model's answer.

    Returns:
        str: Trailing periods removed, lower-cased (``"Yes."`` -> ``yes``).
    """
    return text.rstrip('.').lower()


@METRICS.register_module()
class GQAAcc(FileWritingMetric):
    """GQA accuracy over the balanced questions, in percent.

    A prediction (:func:`gqa_prediction`) is right when it equals GQA's
    answer exactly. ``binary`` covers the yes/no and choice questions (every
    structural type but ``query``), ``open`` the ``query`` ones, as GQA's
    ``eval.py``. The predictions are also written in the format of that
    script (``[{"questionId", "prediction"}]``), so its other scores can be
    computed with it.

    Args:
        file_path (str, optional): The predictions file; defaults to
            ``<work_dir>/testdev_balanced_predictions.json``.
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Defaults to ``'GQA'``.

    Returns from ``compute_metrics``: ``accuracy``, ``binary``, ``open``.
    """

    default_prefix = 'GQA'
    default_file_name = 'testdev_balanced_predictions.json'
    keys = ('question_id', 'gt_answer', 'structural', 'is_balanced',
            'question')
    dataset = 'llava_mm.datasets.GQA'

    def sample_log(self, sample: dict) -> dict:
        """What ``--out`` records of one sample, beside its prediction.

        Args:
            sample (dict): The dataset's sample with ``pred_answer``.

        Returns:
            dict: ``question``, ``answer``, ``prediction`` (as submitted)
            and ``correct``.
        """
        prediction = gqa_prediction(sample['pred_answer'])
        return dict(question=sample['question'], answer=sample['gt_answer'],
                    prediction=prediction,
                    correct=prediction == sample['gt_answer'])

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Write the predictions file and score the balanced questions.

        Args:
            results (list[dict]): What ``process`` kept.

        Returns:
            dict: ``accuracy``, ``binary`` and ``open``.
        """
        if not results:
            raise ValueError('GQAAcc got no predictions to evaluate.')
        path = self.require_file_path()
        dump([dict(questionId=r['question_id'],
                   prediction=gqa_prediction(r['pred_answer']))
              for r in results], path)
        print_log(f'Wrote {len(results)} GQA predictions to {path}.',
                  logger='current')
        scored = {'accuracy': [], 'binary': [], 'open': []}
        for r in results:
            if not r['is_balanced']:
                continue
            correct = gqa_prediction(r['pred_answer']) == r['gt_answer']
            scored['accuracy'].append(correct)
            kind = 'open' if r['structural'] == 'query' else 'binary'
            scored[kind].append(correct)
        return {k: percent(sum(v), len(v)) for k, v in scored.items()}
