"""SEED-Bench accuracy as LLaVA's ``scripts/convert_seed_for_submission.py``
computes it, and its leaderboard file."""
import json
from collections import defaultdict
from typing import Dict, List

from mmengine.fileio import put_text
from mmengine.logging import print_log

from llava_mm.registry import METRICS

from .bench_metric import FileWritingMetric, percent


@METRICS.register_module()
class SEEDAcc(FileWritingMetric):
    """SEED-Bench accuracy: the answer must be exactly the option letter.

    As LLaVA's script, there is no parsing: ``"A"`` is right, ``"A."`` or
    ``"A. dog"`` are wrong. Reported over all questions, the image and
    video questions, and each question type (over both). Also writes the
    leaderboard's upload file, one ``{"question_id", "prediction"}`` line
    per question.

    Args:
        file_path (str, optional): The upload file; defaults to
            ``<work_dir>/seed_bench_upload.jsonl``.
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Defaults to ``'SEED'``.

    Returns from ``compute_metrics`` (percent): ``accuracy``, ``image``,
    ``video`` (those present) and ``<question type>``.
    """

    default_prefix = 'SEED'
    default_file_name = 'seed_bench_upload.jsonl'
    keys = ('seed_question_id', 'gt_answer', 'data_type', 'question_type',
            'question')
    dataset = 'llava_mm.datasets.SEEDBench'

    def sample_log(self, sample: dict) -> dict:
        """What ``--out`` records of one sample, beside its prediction.

        Args:
            sample (dict): The dataset's sample with ``pred_answer``.

        Returns:
            dict: ``question``, ``answer``, ``question_type`` and
            ``correct``.
        """
        return dict(question=sample['question'], answer=sample['gt_answer'],
                    question_type=sample['question_type'],
                    correct=sample['pred_answer'] == sample['gt_answer'])

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Write the upload file and score.

        Args:
            results (list[dict]): What ``process`` kept.

        Returns:
            dict: The accuracies.
        """
        if not results:
            raise ValueError('SEEDAcc got no predictions to evaluate.')
        path = self.require_file_path()
        put_text(''.join(json.dumps(dict(
            question_id=r['seed_question_id'],
            prediction=r['pred_answer'])) + '\n' for r in results), path)
        print_log(f'Wrote {len(results)} SEED-Bench predictions to {path}.',
                  logger='current')
        groups = defaultdict(list)
        for r in results:
            correct = r['pred_answer'] == r['gt_answer']
            for name in ('accuracy', r['data_type'], r['question_type']):
                groups[name].append(correct)
        order = ['accuracy', 'image', 'video'] + sorted(
            set(r['question_type'] for r in results))
        return {name: percent(sum(groups[name]), len(groups[name]))
                for name in order if groups.get(name)}

