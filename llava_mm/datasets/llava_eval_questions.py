"""Question files in the format of LLaVA's evaluation data (``eval.zip``).

LLaVA-1.5 evaluates GQA, TextVQA, VizWiz, POPE, MME and SEED-Bench with
``llava/eval/model_vqa_loader.py``, which reads one JSON object per line:
``{"question_id", "image", "text"[, "category"]}``. ``text`` is the whole
user turn after the image (the question and the answer-format instruction,
e.g. ``"...\\nAnswer the question using a single word or phrase."``), and
``image`` is a path relative to the benchmark's image folder. The script
puts ``"<image>\\n" + text`` into the ``vicuna_v1`` conversation, which is
the plain LLaVA-1.5 ``prompt_tmpl`` with ``{question}`` = ``text``.

:class:`LLaVAEvalQuestions` reads such a file; each benchmark's dataset adds
its ground truth from the benchmark's own files
(:meth:`LLaVAEvalQuestions.add_ground_truth`).
"""
import os.path as osp
from typing import List, Sequence, Union

from mmengine.dataset import BaseDataset

from llava_mm.conversation import check_question
from llava_mm.registry import DATASETS
from llava_mm.utils.data_files import load_jsonl

from .coco_utils import NonEmptyMixin, drop_missing_images


@DATASETS.register_module()
class LLaVAEvalQuestions(NonEmptyMixin, BaseDataset):
    """A LLaVA evaluation question file (``model_vqa_loader`` format).

    Used as is for splits without answers (VizWiz test); the benchmarks
    with local scores subclass it and add their ground truth.

    Each sample has ``question_id`` (as in the file), ``question`` (the
    file's ``text``: what fills ``{question}`` of the prompt template),
    ``image`` (the file's relative path), ``img_path`` and, when the file
    has one, ``category``.

    Args:
        data_root (str): Root of the other paths.
        question_file (str): The question file, relative to ``data_root``.
        data_prefix (str | dict): The image folder the ``image`` entries are
            relative to (``dict(img_path=...)`` or a str).
        ann_file (str): The benchmark's ground-truth file, where it has one.
        skip_missing (bool): Skip questions whose image is not found (one
            warning with the count) instead of failing.
        pipeline (Sequence): Transforms.
        **kwargs: Other arguments of :class:`mmengine.dataset.BaseDataset`.
    """

    #: Name of the benchmark, for messages.
    benchmark = 'LLaVA'
    #: Attributes naming further files or folders, joined with data_root.
    path_args: tuple = ()

    def __init__(self,
                 data_root: str = '',
                 question_file: str = '',
                 data_prefix: Union[str, dict] = '',
                 ann_file: str = '',
                 skip_missing: bool = False,
                 pipeline: Sequence = (),
                 **kwargs) -> None:
        if isinstance(data_prefix, str):
            data_prefix = dict(img_path=data_prefix)
        if not question_file:
            raise ValueError(f'{type(self).__name__} needs question_file.')
        self.question_file = question_file
        self.skip_missing = skip_missing
        super().__init__(data_root=data_root, ann_file=ann_file,
                         data_prefix=data_prefix, pipeline=pipeline,
                         **kwargs)

    def _join(self, path: str) -> str:
        if path and self.data_root and not osp.isabs(path):
            return osp.join(self.data_root, path)
        return path

    def _join_prefix(self) -> None:
        super()._join_prefix()
        self.question_file = self._join(self.question_file)
        for name in self.path_args:
            setattr(self, name, self._join(getattr(self, name)))

    def load_questions(self) -> List[dict]:
        """Read and check the question file.

        Returns:
            list[dict]: The file's entries.
        """
        path = self.question_file
        questions = load_jsonl(path, f'{self.benchmark} question file')
        for number, q in enumerate(questions, 1):
            where = f'line {number}'
            missing = [k for k in ('question_id', 'image', 'text')
                       if k not in q]
            if missing:
                raise ValueError(
                    f'{path}: {where} lacks {missing} (it has {sorted(q)}); '
                    'expected LLaVA\'s question format {"question_id", '
                    '"image", "text", ...} (eval.zip of LLaVA\'s '
                    'docs/Evaluation.md).')
            check_question(q['text'], where=f'{path}: {where}')
        return questions

    def parse_question(self, question: dict) -> dict:
        """One sample from one entry of the question file.

        Args:
            question (dict): The entry.

        Returns:
            dict: The sample.
        """
        info = dict(question_id=question['question_id'],
                    question=question['text'], image=question['image'],
                    img_path=osp.join(self.data_prefix['img_path'],
                                      question['image']))
        if 'category' in question:
            info['category'] = question['category']
        return info

    def add_ground_truth(self, data_list: List[dict]) -> None:
        """Add the benchmark's answers to the samples (in place).

        Args:
            data_list (list[dict]): Every sample of the question file, in
                file order.
        """

    def load_data_list(self) -> List[dict]:
        """Read the questions and their ground truth.

        Returns:
            list[dict]: One sample per question whose image exists, in file
            order.
        """
        data_list = [self.parse_question(q) for q in self.load_questions()]
        self.add_ground_truth(data_list)
        return drop_missing_images(
            data_list, self.skip_missing, type(self).__name__,
            lambda info: f'question_id {info["question_id"]}, no file '
            f'{info["img_path"]}')
