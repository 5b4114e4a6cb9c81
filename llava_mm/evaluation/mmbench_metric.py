"""MMBench: the submission file of LLaVA's
``scripts/convert_mmbench_for_submission.py`` and a local circular score
for splits with answers."""
import copy
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional, Union

from mmengine.logging import print_log
from mmengine.utils import mkdir_or_exist

from llava_mm.registry import METRICS

from .bench_metric import FileWritingMetric, percent

# Columns LLaVA's script leaves out of the submission file, and where it
# puts the predictions.
DROPPED_COLUMNS = ('hint', 'category', 'source', 'image', 'comment',
                   'l2-category')
PREDICTION_COLUMN = 6
REFUSALS = ("Sorry, I can't help with images of people yet.",
            "I can't process this file.",
            "I'm sorry, but without the image provided",
            'Cannot determine the answer')
_SEPARATORS = '.()[],:;!*#{}'


def infer_option(answer: str, choices: Dict[str, str]) -> Union[str, bool]:
    """The option letter a reply names, by VLMEvalKit's rules.

    The reply with ``.()[],:;!*#{}`` turned into spaces is split into
    words; if exactly one option letter is a word, that letter (unless
    ``A`` is a word of a reply of more than three words: "A" may be the
    article); ``'Z'`` for a refusal or a lone ``Z``; else False.

    Args:
        answer (str): The model's reply.
        choices (dict): Letter -> option text, as shown.

    Returns:
        str | bool: The letter, ``'Z'`` or False.
    """
    if 'Failed to obtain answer via API' in answer:
        return False
    if any(refusal in answer for refusal in REFUSALS):
        return 'Z'
    for char in _SEPARATORS:
        answer = answer.replace(char, ' ')
    words = answer.split()
    named = [c for c in choices if c in words]
    if len(named) == 1:
        if 'A' in words and len(words) > 3:
            return False
        return named[0]
    if not named and 'Z' in words:
        return 'Z'
    return False


def infer_choice(answer: str, choices: Dict[str, str]) -> Union[str, bool]:
    """The option a reply picks: VLMEvalKit's ``can_infer``.

    By letter (:func:`infer_option`), else the one option whose text the
    lower-cased reply contains.

    Args:
        answer (str): The model's reply.
        choices (dict): Letter -> option text, as shown.

    Returns:
        str | bool: The letter, ``'Z'`` or False.
    """
    letter = infer_option(answer, choices)
    if letter:
        return letter
    lower = answer.lower()
    named = [c for c, text in choices.items() if str(text).lower() in lower]
    return named[0] if len(named) == 1 else False


@METRICS.register_module()
class MMBenchMetric(FileWritingMetric):
    """The MMBench submission file and, with answers, a circular accuracy.

    The file is LLaVA's ``.xlsx`` (needs ``openpyxl``): the TSV's rows and
    columns without ``hint``, ``category``, ``source``, ``image``,
    ``comment``, ``l2-category``, with a ``prediction`` column (the raw
    reply of the first round) inserted as the seventh. Upload it to the
    MMBench server for the official score.

    Where the TSV has answers (dev), each reply is also matched to an option
    by VLMEvalKit's rules without a judge model (:func:`infer_choice`), and
    a question counts as right only when every copy of it (the TSV's
    circular copies, index + k * 1e6, and every round) is right: MMBench's
    CircularEval. Replies the rules cannot match count as wrong, where the
    official server asks a GPT judge, so this local score is a lower bound
    of the server's.

    Args:
        file_path (str, optional): The submission file; defaults to
            ``<work_dir>/mmbench_submission.xlsx``.
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Defaults to ``'MMBench'``.

    Returns from ``compute_metrics``: ``circular_acc`` and ``single_acc``
    (every row on its own), in percent, when the TSV has answers;
    ``num_answers`` otherwise.
    """

    default_prefix = 'MMBench'
    default_file_name = 'mmbench_submission.xlsx'
    keys = ('question_id', 'round_id', 'circular_id', 'options',
            'option_letters', 'question')
    dataset = 'llava_mm.datasets.MMBench'

    def __init__(self, file_path: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(file_path=file_path, collect_device=collect_device,
                         prefix=prefix)
        self.tsv_file = None
        try:
            import openpyxl  # noqa: F401
        except ImportError as e:
            raise ImportError(
                'MMBenchMetric writes the .xlsx submission file with '
                'openpyxl: pip install openpyxl (or llava_mm[eval]).') from e

    def check_dataset(self, dataset) -> None:
        """Remember the dataset's TSV (the submission file copies it).

        Args:
            dataset (MMBench): The test dataset.
        """
        self.tsv_file = dataset.question_file

    def process(self, data_batch, data_samples) -> None:
        """Keep each reply with its options and answer (if any).

        Args:
            data_batch: Unused.
            data_samples (Sequence[dict]): Predictions with ground truth.
        """
        super().process(data_batch, data_samples)
        for result, sample in zip(self.results[-len(data_samples):],
                                  data_samples):
            result['gt_answer'] = sample.get('gt_answer')

    def sample_log(self, sample: dict) -> dict:
        """What ``--out`` records of one sample, beside its prediction.

        Args:
            sample (dict): The dataset's sample with ``pred_answer``.

        Returns:
            dict: ``question``, ``round_id``, ``parsed`` (the letter
            matched, or False) and, with answers, ``answer`` and
            ``correct``.
        """
        parsed = infer_choice(sample['pred_answer'], self._choices(sample))
        log = dict(question=sample['question'], round_id=sample['round_id'],
                   parsed=parsed)
        if sample.get('gt_answer') is not None:
            log.update(answer=sample['gt_answer'],
                       correct=parsed == sample['gt_answer'])
        return log

    @staticmethod
    def _choices(sample: dict) -> Dict[str, str]:
        letters = 'ABCD'[:len(sample['options'])]
        return dict(zip(letters, sample['options']))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Write the submission file; score when there are answers.

        Args:
            results (list[dict]): What ``process`` kept.

        Returns:
            dict: The scores, or ``num_answers``.
        """
        if not results:
            raise ValueError('MMBenchMetric got no predictions.')
        self._write_submission(results)
        if any(r['gt_answer'] is None for r in results):
            return {'num_answers': len(results)}
        groups = defaultdict(list)
        for r in results:
            groups[r['circular_id']].append(
                infer_choice(r['pred_answer'], self._choices(r)) ==
                r['gt_answer'])
        rows = [ok for group in groups.values() for ok in group]
        return {'circular_acc': percent(sum(all(g) for g in groups.values()),
                                        len(groups)),
                'single_acc': percent(sum(rows), len(rows))}

    def _write_submission(self, results: List[dict]) -> None:
        from openpyxl import Workbook

        from llava_mm.utils.data_files import mmbench_is_none, read_tsv
        path = self.require_file_path()
        if self.tsv_file is None:
            raise ValueError('MMBenchMetric needs the dataset\'s TSV file '
                             '(check_dataset is called by ResumableTestLoop).')
        replies = {r['question_id']: r['pred_answer'] for r in results
                   if r['round_id'] == 0}
        rows = read_tsv(self.tsv_file)
        columns = [c for c in rows[0] if c not in DROPPED_COLUMNS]
        columns.insert(PREDICTION_COLUMN, 'prediction')
        book = Workbook()
        sheet = book.active
        sheet.append(columns)
        for row in rows:
            row = copy.copy(row)
            row['index'] = int(row['index'])
            row['prediction'] = replies.get(row['index'])
            sheet.append([None if c != 'prediction' and isinstance(
                row[c], str) and mmbench_is_none(row[c]) else row[c]
                for c in columns])
        mkdir_or_exist(osp.dirname(osp.abspath(path)))
        book.save(path)
        print_log(f'Wrote {len(replies)} MMBench predictions to {path}.',
                  logger='current')

