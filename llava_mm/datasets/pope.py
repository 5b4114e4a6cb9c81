"""POPE (object hallucination), as LLaVA-1.5 evaluates it."""
import glob
import os.path as osp
from collections import defaultdict
from typing import List, Optional, Sequence

from llava_mm.registry import DATASETS
from llava_mm.utils.data_files import load_jsonl

from .llava_eval_questions import LLaVAEvalQuestions

LABEL_PREFIX = 'coco_pope_'


@DATASETS.register_module()
class POPE(LLaVAEvalQuestions):
    """POPE on COCO val2014, LLaVA's files.

    ``llava_pope_test.jsonl`` holds the questions of the three splits, each
    entry with its ``category`` (``adversarial``, ``popular``,
    ``random``). The answers are POPE's own files ``coco/coco_pope_<split>
    .json`` (one ``{"question_id", "image", "text", "label"}`` per line).
    As in LLaVA's ``eval_pope.py``, the k-th question of a category takes
    the label of the k-th line of that category's file; the images must
    agree (else the files do not belong together).

    Adds ``gt_answer`` (``'yes'``/``'no'``) to each sample.

    Args:
        label_dir (str): The folder of ``coco_pope_<split>.json``, relative
            to ``data_root``.
        categories (Sequence[str], optional): The splits to evaluate.
            Defaults to every ``coco_pope_*.json`` in ``label_dir`` (what
            ``eval_pope.py`` scores); questions of other categories are
            left out.
        **kwargs: Arguments of :class:`LLaVAEvalQuestions`.
    """

    benchmark = 'POPE'
    path_args = ('label_dir', )

    def __init__(self,
                 label_dir: str = 'coco',
                 categories: Optional[Sequence[str]] = None,
                 **kwargs) -> None:
        self.label_dir = label_dir
        self.categories = None if categories is None else list(categories)
        super().__init__(**kwargs)

    def _label_files(self) -> dict:
        if not osp.isdir(self.label_dir):
            raise FileNotFoundError(
                f'POPE label folder not found: {self.label_dir}. Put POPE\'s '
                'output/coco folder (coco_pope_adversarial.json, ...) there.')
        found = {osp.basename(p)[len(LABEL_PREFIX):-len('.json')]: p
                 for p in sorted(glob.glob(osp.join(
                     self.label_dir, f'{LABEL_PREFIX}*.json')))}
        if self.categories is None:
            if not found:
                raise FileNotFoundError(
                    f'No {LABEL_PREFIX}<split>.json in {self.label_dir}.')
            return found
        missing = [c for c in self.categories if c not in found]
        if missing:
            raise FileNotFoundError(
                f'POPE: no label file for {missing} in {self.label_dir} '
                f'(found {sorted(found)}).')
        return {c: found[c] for c in self.categories}

    def load_data_list(self) -> List[dict]:
        """Read the questions of the evaluated splits and their labels.

        Returns:
            list[dict]: The samples, in question-file order.
        """
        data_list = super().load_data_list()
        return [info for info in data_list if 'gt_answer' in info]

    def add_ground_truth(self, data_list: List[dict]) -> None:
        """Give each question of an evaluated split its label.

        Args:
            data_list (list[dict]): The samples, in question-file order.
        """
        files = self._label_files()
        by_category = defaultdict(list)
        for info in data_list:
            if 'category' not in info:
                raise ValueError(
                    f'{self.question_file}: question_id '
                    f'{info["question_id"]} has no "category"; POPE '
                    'questions name their split (adversarial, popular, '
                    'random).')
            by_category[info['category']].append(info)
        for category, path in files.items():
            labels = load_jsonl(path, 'POPE label file')
            questions = by_category.get(category, [])
            if len(labels) != len(questions):
                raise ValueError(
                    f'POPE split {category!r}: {len(questions)} questions in '
                    f'{self.question_file} but {len(labels)} labels in '
                    f'{path}; the files do not belong together.')
            for k, (info, label) in enumerate(zip(questions, labels)):
                answer = label.get('label')
                if answer not in ('yes', 'no'):
                    raise ValueError(f'{path}, line {k + 1}: "label" must be '
                                     f'"yes" or "no", got {answer!r}.')
                if osp.basename(str(label.get('image'))) != osp.basename(
                        info['image']):
                    raise ValueError(
                        f'POPE split {category!r}, question {k + 1}: image '
                        f'{info["image"]} in {self.question_file} but '
                        f'{label.get("image")} in {path}; the files do not '
                        'belong together (or are in another order).')
                info['gt_answer'] = answer
