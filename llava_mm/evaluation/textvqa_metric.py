"""TextVQA accuracy as LLaVA's ``llava/eval/eval_textvqa.py`` computes it
(``TextVQAAccuracyEvaluator`` of ``m4c_evaluator.py``)."""
from typing import Dict, List, Sequence

from llava_mm.registry import METRICS

from .bench_metric import BenchmarkMetric
from .vqa_answers import evalai_answer, leave_one_out_accuracy


def textvqa_accuracy(prediction: str, answers: Sequence[str]) -> float:
    """The soft accuracy of one answer to one TextVQA question.

    The answer and every annotator answer go through the EvalAI answer
    processor (:func:`~.vqa_answers.evalai_answer`: always, unlike VQAv2's
    official accuracy); the score is the mean over the annotators of
    ``min(#other annotators giving the answer / 3, 1)``.

    Args:
        prediction (str): The model's answer.
        answers (Sequence[str]): The annotators' answers (10).

    Returns:
        float: The accuracy, in [0, 1].
    """
    if len(answers) < 2:
        raise ValueError('The TextVQA accuracy needs at least 2 annotator '
                         f'answers, got {len(answers)}.')
    return leave_one_out_accuracy(evalai_answer(prediction),
                                  [evalai_answer(a) for a in answers])


@METRICS.register_module()
class TextVQAAcc(BenchmarkMetric):
    """TextVQA accuracy (:func:`textvqa_accuracy`) in percent.

    Returns from ``compute_metrics``: ``accuracy``.
    """

    default_prefix = 'TextVQA'
    keys = ('gt_answer', 'question')
    dataset = 'llava_mm.datasets.TextVQA'

    def sample_log(self, sample: dict) -> dict:
        """What ``--out`` records of one sample, beside its prediction.

        Args:
            sample (dict): The dataset's sample with ``pred_answer``.

        Returns:
            dict: ``question``, ``answers``, the processed ``prediction``
            and its ``accuracy`` (0-1).
        """
        return dict(question=sample['question'],
                    answers=sample['gt_answer'],
                    prediction=evalai_answer(sample['pred_answer']),
                    accuracy=textvqa_accuracy(sample['pred_answer'],
                                              sample['gt_answer']))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """The mean accuracy.

        Args:
            results (list[dict]): What ``process`` kept.

        Returns:
            dict: ``accuracy``.
        """
        if not results:
            raise ValueError('TextVQAAcc got no predictions to evaluate.')
        scores = [textvqa_accuracy(r['pred_answer'], r['gt_answer'])
                  for r in results]
        return {'accuracy': 100.0 * sum(scores) / len(scores)}
