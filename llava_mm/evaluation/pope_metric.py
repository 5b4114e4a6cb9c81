"""POPE scores as LLaVA's ``llava/eval/eval_pope.py`` computes them."""
from collections import defaultdict
from typing import Dict, List, Sequence

from llava_mm.registry import METRICS

from .bench_metric import BenchmarkMetric, percent

NEGATIONS = ('No', 'not', 'no')


def pope_yes_no(text: str) -> str:
    """Read a model answer as yes or no, as ``eval_pope.py`` does.

    Only the text before the first period counts; commas are removed and
    the rest is split on single spaces. It is ``'no'`` when one of the
    words is exactly ``No``, ``no`` or ``not``, else ``'yes'`` (``"NO"``,
    ``"No\\nIt is"`` and an empty answer are all yes).

    Args:
        text (str): The model's answer.

    Returns:
        str: ``'yes'`` or ``'no'``.
    """
    first = text.split('.')[0]
    words = first.replace(',', '').split(' ')
    return 'no' if any(w in NEGATIONS for w in words) else 'yes'


def pope_scores(preds: Sequence[str], labels: Sequence[str]) -> dict:
    """Binary scores with "yes" as the positive class.

    Args:
        preds (Sequence[str]): ``'yes'``/``'no'`` per question.
        labels (Sequence[str]): ``'yes'``/``'no'`` per question.

    Returns:
        dict: ``acc``, ``precision``, ``recall``, ``f1`` and ``yes_ratio``
        in percent (precision, recall and F1 are 0 where the official
        script divides by zero), and the counts ``tp``, ``fp``, ``tn``,
        ``fn``.
    """
    pairs = list(zip(preds, labels))
    tp = sum(p == 'yes' and gt == 'yes' for p, gt in pairs)
    fp = sum(p == 'yes' and gt == 'no' for p, gt in pairs)
    tn = sum(p == 'no' and gt == 'no' for p, gt in pairs)
    fn = sum(p == 'no' and gt == 'yes' for p, gt in pairs)
    precision = percent(tp, tp + fp)
    recall = percent(tp, tp + fn)
    f1 = (2 * precision * recall / (precision + recall)
          if precision + recall else 0.0)
    return dict(acc=percent(tp + tn, len(pairs)), precision=precision,
                recall=recall, f1=f1,
                yes_ratio=percent(sum(p == 'yes' for p in preds),
                                  len(preds)),
                tp=tp, fp=fp, tn=tn, fn=fn)


@METRICS.register_module()
class POPEMetric(BenchmarkMetric):
    """POPE accuracy, precision, recall, F1 and yes-ratio per split.

    Each answer is read as yes/no by :func:`pope_yes_no` and compared with
    the label, "yes" being the positive class, for each split
    (``adversarial``, ``popular``, ``random``) on its own, as
    ``eval_pope.py`` prints them. ``f1`` and ``acc`` are the means over
    the splits evaluated.

    Returns from ``compute_metrics`` (percent): ``<split>/acc``,
    ``<split>/precision``, ``<split>/recall``, ``<split>/f1``,
    ``<split>/yes_ratio`` and ``f1``, ``acc``.
    """

    default_prefix = 'POPE'
    keys = ('category', 'gt_answer', 'question')
    dataset = 'llava_mm.datasets.POPE'

    def sample_log(self, sample: dict) -> dict:
        """What ``--out`` records of one sample, beside its prediction.

        Args:
            sample (dict): The dataset's sample with ``pred_answer``.

        Returns:
            dict: ``question``, ``category``, ``label``, the ``parsed``
            answer and whether it is ``correct``.
        """
        parsed = pope_yes_no(sample['pred_answer'])
        return dict(question=sample['question'],
                    category=sample['category'],
                    label=sample['gt_answer'], parsed=parsed,
                    correct=parsed == sample['gt_answer'])

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Score each split.

        Args:
            results (list[dict]): What ``process`` kept.

        Returns:
            dict: The scores, in percent.
        """
        if not results:
            raise ValueError('POPEMetric got no predictions to evaluate.')
        splits = defaultdict(lambda: ([], []))
        for r in results:
            preds, labels = splits[r['category']]
            preds.append(pope_yes_no(r['pred_answer']))
            labels.append(r['gt_answer'])
        metrics = {}
        for name in sorted(splits):
            scores = pope_scores(*splits[name])
            for key in ('acc', 'precision', 'recall', 'f1', 'yes_ratio'):
                metrics[f'{name}/{key}'] = scores[key]
        for key in ('f1', 'acc'):
            metrics[key] = sum(metrics[f'{name}/{key}']
                               for name in splits) / len(splits)
        return metrics
