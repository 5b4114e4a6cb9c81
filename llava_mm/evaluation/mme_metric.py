"""MME scores as MME's ``eval_tool/calculation.py`` computes them."""
import logging
from collections import defaultdict
from typing import Dict, List

from mmengine.logging import print_log

from llava_mm.registry import METRICS

from .bench_metric import BenchmarkMetric

PERCEPTION = ('existence', 'count', 'position', 'color', 'posters',
              'celebrity', 'scene', 'landmark', 'artwork', 'OCR')
COGNITION = ('commonsense_reasoning', 'numerical_calculation',
             'text_translation', 'code_reasoning')


def mme_yes_no(text: str) -> str:
    """Read a model answer as MME's tool does.

    Lower-cased; exactly ``yes`` or ``no`` as is, else ``'yes'`` when its
    first four characters hold "yes", else ``'no'`` when they hold "no",
    else ``'other'`` (never correct). So ``"Not sure"`` is no and ``"I
    think yes"`` is other.

    Args:
        text (str): The model's answer.

    Returns:
        str: ``'yes'``, ``'no'`` or ``'other'``.
    """
    text = text.lower()
    if text in ('yes', 'no'):
        return text
    prefix = text[:4]
    if 'yes' in prefix:
        return 'yes'
    if 'no' in prefix:
        return 'no'
    return 'other'


def mme_subtask_score(pairs: Dict[str, List[bool]]) -> dict:
    """acc, acc+ and their sum for one subtask.

    Args:
        pairs (dict): Image -> whether each of its questions is correct.

    Returns:
        dict: ``acc`` (questions), ``acc_plus`` (images with every
        question right) and ``score`` = 100 * (acc + acc_plus).
    """
    flags = [ok for image in pairs.values() for ok in image]
    acc = sum(flags) / len(flags)
    acc_plus = sum(all(image) for image in pairs.values()) / len(pairs)
    return dict(acc=acc, acc_plus=acc_plus, score=100 * (acc + acc_plus))


@METRICS.register_module()
class MMEMetric(BenchmarkMetric):
    """MME: per subtask 100 * (acc + acc+), summed to perception/cognition.

    An answer is read with :func:`mme_yes_no` and compared with the
    lower-cased ground truth. acc is over the questions of a subtask, acc+
    over its images (both questions right). The perception score sums the
    10 perception subtasks, the cognition score the 4 others (over the
    subtasks present, e.g. in a partial run).

    Returns from ``compute_metrics``: ``perception``, ``cognition`` and
    ``<subtask>`` (its score, 0-200).
    """

    default_prefix = 'MME'
    keys = ('category', 'image_key', 'gt_answer', 'question')
    dataset = 'llava_mm.datasets.MME'

    def sample_log(self, sample: dict) -> dict:
        """What ``--out`` records of one sample, beside its prediction.

        Args:
            sample (dict): The dataset's sample with ``pred_answer``.

        Returns:
            dict: ``question``, ``category``, ``answer`` (ground truth),
            ``parsed`` and ``correct``.
        """
        parsed = mme_yes_no(sample['pred_answer'])
        return dict(question=sample['question'],
                    category=sample['category'], answer=sample['gt_answer'],
                    parsed=parsed,
                    correct=parsed == sample['gt_answer'].lower())

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Score the subtasks and sum them.

        Args:
            results (list[dict]): What ``process`` kept.

        Returns:
            dict: The scores.
        """
        if not results:
            raise ValueError('MMEMetric got no predictions to evaluate.')
        tasks = defaultdict(lambda: defaultdict(list))
        for r in results:
            correct = mme_yes_no(r['pred_answer']) == r['gt_answer'].lower()
            tasks[r['category']][r['image_key']].append(correct)
        unknown = sorted(set(tasks) - set(PERCEPTION) - set(COGNITION))
        if unknown:
            print_log(f'MMEMetric: subtasks {unknown} are not MME\'s and '
                      'are not scored.', logger='current',
                      level=logging.WARNING)
        scores = {name: mme_subtask_score(tasks[name])['score']
                  for name in PERCEPTION + COGNITION if name in tasks}
        metrics = {
            'perception': sum(scores.get(n, 0.0) for n in PERCEPTION),
            'cognition': sum(scores.get(n, 0.0) for n in COGNITION),
        }
        metrics.update(scores)
        return metrics
