"""ScienceQA-IMG accuracy as LLaVA's ``llava/eval/eval_science_qa.py``
computes it."""
import re
from typing import Dict, List, Sequence

from llava_mm.constants import SQA_OPTIONS
from llava_mm.registry import METRICS

from .bench_metric import BenchmarkMetric, percent

_THE_ANSWER_IS = re.compile(r'The answer is ([A-Z]).')


def sqa_letter(text: str) -> str:
    """The option letter of a model answer, as ``eval_science_qa.py`` reads
    it.

    The answer is a letter when it is exactly one of A-E, or starts with
    one followed by ". "; otherwise when "The answer is X" plus one more
    character occurs exactly once. Anything else is ``'FAILED'`` (so
    ``"(A)"``, ``"A."`` and ``"a"`` fail).

    Args:
        text (str): The model's answer.

    Returns:
        str: The letter, or ``'FAILED'``.
    """
    if text in SQA_OPTIONS:
        return text
    if len(text) >= 3 and text[0] in SQA_OPTIONS and text[1:3] == '. ':
        return text[0]
    found = _THE_ANSWER_IS.findall(text)
    return found[0] if len(found) == 1 else 'FAILED'


def sqa_choice_index(text: str, choices: Sequence[str]) -> int:
    """The choice a model answer picks, or -1.

    Args:
        text (str): The model's answer.
        choices (Sequence[str]): The problem's choices.

    Returns:
        int: The index of the letter (:func:`sqa_letter`) among the
        problem's options, -1 for none.
    """
    letter = sqa_letter(text)
    options = SQA_OPTIONS[:len(choices)]
    return options.index(letter) if letter in options else -1


@METRICS.register_module()
class ScienceQAMetric(BenchmarkMetric):
    """ScienceQA-IMG accuracy: the share of image questions whose answer
    letter (:func:`sqa_letter`) is the correct choice.

    Returns from ``compute_metrics``: ``img_acc`` in percent.
    """

    default_prefix = 'ScienceQA'
    keys = ('choices', 'gt_index', 'question')
    dataset = 'llava_mm.datasets.ScienceQA'

    def sample_log(self, sample: dict) -> dict:
        """What ``--out`` records of one sample, beside its prediction.

        Args:
            sample (dict): The dataset's sample with ``pred_answer``.

        Returns:
            dict: ``question``, ``answer`` (the correct letter),
            ``parsed`` (the letter read) and ``correct``.
        """
        index = sqa_choice_index(sample['pred_answer'], sample['choices'])
        return dict(question=sample['question'],
                    answer=SQA_OPTIONS[sample['gt_index']],
                    parsed=sqa_letter(sample['pred_answer']),
                    correct=index == sample['gt_index'])

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """The accuracy.

        Args:
            results (list[dict]): What ``process`` kept.

        Returns:
            dict: ``img_acc``.
        """
        if not results:
            raise ValueError('ScienceQAMetric got no predictions to '
                             'evaluate.')
        correct = sum(sqa_choice_index(r['pred_answer'], r['choices']) ==
                      r['gt_index'] for r in results)
        return {'img_acc': percent(correct, len(results))}
