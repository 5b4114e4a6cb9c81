"""SEED-Bench (image questions and the middle frame of the video ones), as
LLaVA-1.5 evaluates it."""
from typing import List

from llava_mm.registry import DATASETS
from llava_mm.utils.data_files import describe, load_json, require_keys

from .llava_eval_questions import LLaVAEvalQuestions


def seed_question_key(question_id) -> str:
    """A SEED question id as the key both files agree on.

    LLaVA's ``convert_seed_for_submission.py`` looks an annotation's id up
    as an integer where it is one, else as is.

    Args:
        question_id (int | str): An id from either file.

    Returns:
        str: ``'101669'`` for ``101669`` and ``'101669'``.
    """
    text = str(question_id)
    return str(int(text)) if text.isdigit() else text


@DATASETS.register_module()
class SEEDBench(LLaVAEvalQuestions):
    """SEED-Bench questions from LLaVA's file, answers from SEED's own.

    ``llava-seed-bench.jsonl`` (LLaVA's eval.zip) gives each question with
    its lettered options and "Answer with the option's letter from the
    given choices directly."; images are ``SEED-Bench-image/...`` and, for
    video questions, the middle frame in ``SEED-Bench-video-image/...``.
    ``SEED-Bench.json`` is ``{"question_type": {name: id}, "questions":
    [{"question_id", "answer", "data_type", "question_type_id", ...}]}``.

    Adds ``gt_answer`` (the letter), ``data_type`` (``image``/``video``),
    ``question_type`` (its name) and ``seed_question_id`` (the annotation's
    id, for the upload file) to each sample.

    Args:
        ann_file (str): ``SEED-Bench.json``.
        **kwargs: Arguments of :class:`LLaVAEvalQuestions`.
    """

    benchmark = 'SEED-Bench'

    def add_ground_truth(self, data_list: List[dict]) -> None:
        """Add each question's answer and type.

        Args:
            data_list (list[dict]): The samples.
        """
        path = self.ann_file
        data = load_json(path, 'SEED-Bench annotation file')
        if not isinstance(data, dict) or not isinstance(
                data.get('questions'), list) or not isinstance(
                    data.get('question_type'), dict):
            raise ValueError(
                f'{path}: expected SEED-Bench.json\'s format {{'
                '"question_type": {...}, "questions": [...]}, got '
                f'{describe(data)}.')
        type_names = {v: k for k, v in data['question_type'].items()}
        annotations = {}
        for i, q in enumerate(data['questions']):
            require_keys(q, ('question_id', 'answer', 'data_type',
                             'question_type_id'), path, f'questions[{i}]')
            annotations[seed_question_key(q['question_id'])] = q
        for info in data_list:
            ann = annotations.get(seed_question_key(info['question_id']))
            if ann is None:
                raise ValueError(
                    f'SEED-Bench question {info["question_id"]} of '
                    f'{self.question_file} is not in {path}; the files do '
                    'not belong together.')
            info.update(gt_answer=ann['answer'], data_type=ann['data_type'],
                        question_type=type_names.get(
                            ann['question_type_id'],
                            str(ann['question_type_id'])),
                        seed_question_id=ann['question_id'])
