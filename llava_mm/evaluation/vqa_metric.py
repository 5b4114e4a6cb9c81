"""VQAv2 accuracy, as the official evaluation computes it, and the
submission file for the test splits.

Both score and write the answer LLaVA submits: the model's text through
the EvalAI answer processor (:func:`~.vqa_answers.evalai_answer`). The
accuracy of that answer is the official per-question accuracy
(:func:`~.vqa_answers.vqa_accuracy`), so ``VQAAcc`` on val scores exactly
what ``ReportVQA`` would write for the server.
"""
import json
import logging
import os.path as osp
from collections import defaultdict
from typing import List, Optional, Sequence

from mmengine.fileio import dump
from mmengine.logging import print_log

from llava_mm.registry import METRICS

from .bench_metric import SubmissionFileMixin
from .resumable_metric import ResumableMetric
from .vqa_answers import evalai_answer, vqa_accuracy

ANSWER_TYPES = ('yes/no', 'number', 'other')


def sample_accuracy(pred_answer: str, raw_answers: Sequence[str]) -> float:
    """Accuracy of one model answer as submitted (EvalAI-processed).

    Args:
        pred_answer (str): The model's text.
        raw_answers (Sequence[str]): The annotators' answers.

    Returns:
        float: The official accuracy of the submitted answer, in [0, 1].
    """
    return vqa_accuracy(evalai_answer(pred_answer), raw_answers)


def _unique_by(results: List[dict], key: str, metric: str) -> List[dict]:
    """Keep the first result per ``key``, logging how many were dropped."""
    seen, unique = set(), []
    for r in results:
        if r[key] in seen:
            continue
        seen.add(r[key])
        unique.append(r)
    if len(unique) != len(results):
        print_log(f'{metric}: {len(results) - len(unique)} duplicated '
                  f'{key}s ignored (each is counted once).',
                  logger='current', level=logging.WARNING)
    return unique


@METRICS.register_module()
class VQAAcc(ResumableMetric):
    """Official VQAv2 accuracy, overall and per answer type, in percent.

    Each model answer is first processed as LLaVA's submission script does
    (EvalAI answer processor), then scored with the official rules: the
    annotators' answers and the submitted answer get the full punctuation
    and digit/article processing when the annotators disagree, none when
    all ten agree. Reads ``pred_answer`` and ``raw_answers`` (the
    annotators' answers, set by :class:`llava_mm.datasets.COCOVQA`),
    ``answer_type`` and
    ``question_id`` of each sample. A question seen twice (e.g. padding of
    distributed sampling) is counted once.

    Args:
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Metric name prefix. Defaults to ``'VQA'``.

    Returns from ``compute_metrics``: ``acc`` and ``acc_<answer type>``
    (``acc_yes/no``, ``acc_number``, ``acc_other``) for the types present.
    """
    default_prefix = 'VQA'

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep what the accuracy needs from each sample.

        Args:
            data_batch: Unused.
            data_samples (Sequence[dict]): Predictions with ground truth.
        """
        for sample in data_samples:
            pred = sample.get('pred_answer')
            answers = sample.get('raw_answers')
            if pred is None:
                raise KeyError('VQAAcc needs "pred_answer" in each sample; '
                               'is the model configured with task="vqa"?')
            if answers is None:
                raise KeyError(
                    'VQAAcc needs the annotators\' answers ("raw_answers", '
                    'set by llava_mm\'s COCOVQA from the annotations file '
                    'and passed on by ResumableTestLoop; with mmengine\'s '
                    'TestLoop add "raw_answers" and "answer_type" to '
                    'PackInputs\' meta_keys). For a split without answers '
                    '(test-dev) use ReportVQA.')
            self.results.append(dict(
                question_id=sample.get('question_id'), pred_answer=pred,
                raw_answers=list(answers),
                answer_type=sample.get('answer_type')))

    def sample_log(self, sample: dict) -> dict:
        """What ``--out`` records of one sample, beside its prediction.

        Args:
            sample (dict): The dataset's sample with ``pred_answer``.

        Returns:
            dict: ``question``, ``answers`` (the annotators'),
            ``answer_type``, ``submitted_answer`` and its ``accuracy``
            (0-1, official).
        """
        answers = list(sample['raw_answers'])
        return dict(question=sample.get('question'), answers=answers,
                    answer_type=sample.get('answer_type'),
                    submitted_answer=evalai_answer(sample['pred_answer']),
                    accuracy=sample_accuracy(sample['pred_answer'], answers))

    def compute_metrics(self, results: List[dict]) -> dict:
        """Average the per-question accuracies.

        Args:
            results (list[dict]): What ``process`` kept, from all ranks.

        Returns:
            dict: ``acc`` and per-answer-type accuracies, in percent.
        """
        if not results:
            raise ValueError('VQAAcc got no predictions to evaluate.')
        if all(r['question_id'] is not None for r in results):
            results = _unique_by(results, 'question_id', 'VQAAcc')
        per_type = defaultdict(list)
        scores = []
        for r in results:
            acc = sample_accuracy(r['pred_answer'], r['raw_answers'])
            scores.append(acc)
            if r['answer_type'] is not None:
                per_type[r['answer_type']].append(acc)
        metrics = {'acc': 100.0 * sum(scores) / len(scores)}
        for name in list(ANSWER_TYPES) + sorted(set(per_type) -
                                                set(ANSWER_TYPES)):
            if per_type.get(name):
                metrics[f'acc_{name}'] = 100.0 * sum(per_type[name]) / len(
                    per_type[name])
        return metrics


@METRICS.register_module()
class ReportVQA(SubmissionFileMixin, ResumableMetric):
    """Write the VQAv2 submission file ``[{"question_id", "answer"}]``.

    Each answer is the model's text through the EvalAI answer processor,
    as LLaVA's ``scripts/convert_vqav2_for_submission.py`` writes it.

    For the EvalAI server (test-dev / test-std), which needs an answer for
    every question of test2015: pass ``test_question_file`` and the
    questions not evaluated here get an empty answer.

    Args:
        file_path (str, optional): Output JSON file. Defaults to
            ``<work_dir>/vqa_submission.json`` when run by
            :class:`ResumableTestLoop`.
        test_question_file (str, optional): The full questions file
            (``v2_OpenEnded_mscoco_test2015_questions.json``) to fill in.
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Metric name prefix. Defaults to ``'VQA'``.
    """
    default_prefix = 'VQA'
    default_file_name = 'vqa_submission.json'

    def __init__(self,
                 file_path: Optional[str] = None,
                 test_question_file: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.init_file_path(file_path)
        if test_question_file is not None and not osp.isfile(
                test_question_file):
            raise FileNotFoundError(
                f'test_question_file not found: {test_question_file}')
        self.test_question_file = test_question_file

    def check_dataset(self, dataset) -> None:
        """Check, before any prediction, that the dataset's questions are
        in ``test_question_file``.

        Args:
            dataset (BaseDataset): The test dataset.

        Raises:
            ValueError: Some question ids are not in the file.
        """
        if self.test_question_file is None:
            return
        with open(self.test_question_file, encoding='utf-8') as f:
            known = {q['question_id'] for q in json.load(f)['questions']}
        ids = [dataset.get_data_info(i)['question_id']
               for i in range(len(dataset))]
        missing = [qid for qid in ids if qid not in known]
        if missing:
            raise ValueError(
                f'{len(missing)} of the {len(ids)} questions of the test '
                f'dataset are not in test_question_file '
                f'{self.test_question_file} (first ids: {missing[:5]}): '
                'the dataset and that file do not belong together. Pass '
                '--data-root to move both, or set '
                'test_evaluator.test_question_file.')

    def sample_log(self, sample: dict) -> dict:
        """What ``--out`` records of one sample, beside its prediction.

        Args:
            sample (dict): The dataset's sample with ``pred_answer``.

        Returns:
            dict: ``question`` and ``submitted_answer``.
        """
        return dict(question=sample.get('question'),
                    submitted_answer=evalai_answer(sample['pred_answer']))

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep question id and answer of each sample.

        Args:
            data_batch: Unused.
            data_samples (Sequence[dict]): Predictions.
        """
        for sample in data_samples:
            if sample.get('pred_answer') is None or sample.get(
                    'question_id') is None:
                raise KeyError('ReportVQA needs "pred_answer" and '
                               '"question_id" in each sample.')
            self.results.append(dict(question_id=int(sample['question_id']),
                                     answer=evalai_answer(
                                         sample['pred_answer'])))

    def compute_metrics(self, results: List[dict]) -> dict:
        """Write the file.

        Args:
            results (list[dict]): Answers from all ranks.

        Returns:
            dict: ``num_answers``, the answers predicted here.
        """
        file_path = self.require_file_path()
        results = _unique_by(results, 'question_id', 'ReportVQA')
        answered = len(results)
        if self.test_question_file is not None:
            with open(self.test_question_file, encoding='utf-8') as f:
                all_ids = [q['question_id'] for q in json.load(f)['questions']]
            have = {r['question_id'] for r in results}
            results += [dict(question_id=qid, answer='') for qid in all_ids
                        if qid not in have]
        dump(results, file_path)
        print_log(f'Wrote {len(results)} answers ({answered} predicted) to '
                  f'{file_path}.', logger='current')
        return {'num_answers': answered}
