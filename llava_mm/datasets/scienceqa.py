"""ScienceQA-IMG, as LLaVA-1.5 evaluates it (``model_vqa_science.py``)."""
from typing import List

from llava_mm.constants import IMAGE_TOKEN, MC_INSTRUCTION, SQA_OPTIONS
from llava_mm.conversation import check_question
from llava_mm.registry import DATASETS
from llava_mm.utils.data_files import describe, load_json, require_keys

from .llava_eval_questions import LLaVAEvalQuestions


@DATASETS.register_module()
class ScienceQA(LLaVAEvalQuestions):
    """The image questions of a ScienceQA split, LLaVA's question file.

    ``llava_test_CQM-A.json`` (LLaVA's eval.zip) is a JSON list of
    ``{"id", "image": "<id>/image.png", "conversations": [{"from":
    "human", "value": ...}, ...]}``; the human turn holds the context, the
    question and the lettered options. As ``model_vqa_science.py
    --single-pred-prompt`` does, the question is that turn without
    ``<image>``, stripped, then a newline and ``instruction``. Entries
    without an image (text-only questions, not part of ScienceQA-IMG) are
    left out. The answers come from ScienceQA's ``problems.json``; every
    question must be in ``split`` of ``pid_splits.json``.

    Adds ``choices`` and ``gt_index`` (the correct choice's index) and
    ``gt_answer`` (its letter) to each sample; ``question_id`` is the
    problem id.

    Args:
        ann_file (str): ``problems.json``.
        split_file (str): ``pid_splits.json``.
        split (str): The split the questions belong to.
        instruction (str): What follows the question.
        **kwargs: Arguments of :class:`LLaVAEvalQuestions`.
    """

    benchmark = 'ScienceQA'
    path_args = ('split_file', )

    def __init__(self,
                 split_file: str = 'pid_splits.json',
                 split: str = 'test',
                 instruction: str = MC_INSTRUCTION,
                 **kwargs) -> None:
        self.split_file = split_file
        self.split = split
        self.instruction = instruction
        super().__init__(**kwargs)

    def load_questions(self) -> List[dict]:
        """The image questions in the format of LLaVA's question files.

        Returns:
            list[dict]: ``question_id``, ``image``, ``text`` per question.
        """
        path = self.question_file
        entries = load_json(path, 'ScienceQA question file')
        if not isinstance(entries, list) or not entries:
            raise ValueError(
                f'{path}: expected LLaVA\'s ScienceQA format, a non-empty '
                'list of {"id", "image", "conversations"}, got '
                f'{describe(entries)}.')
        questions = []
        for i, entry in enumerate(entries):
            where = f'entry {i}'
            require_keys(entry, ('id', 'conversations'), path, where)
            if 'image' not in entry:
                continue
            turns = entry['conversations']
            if not isinstance(turns, list) or not turns or not isinstance(
                    turns[0], dict) or 'value' not in turns[0]:
                raise ValueError(f'{path}: {where} has no first turn '
                                 '{"from": "human", "value": ...}.')
            text = str(turns[0]['value']).replace(IMAGE_TOKEN, '').strip()
            check_question(text, where=f'{path}: {where}')
            questions.append(dict(question_id=entry['id'],
                                  image=entry['image'],
                                  text=f'{text}\n{self.instruction}'))
        if not questions:
            raise ValueError(f'{path} has no question with an image.')
        return questions

    def add_ground_truth(self, data_list: List[dict]) -> None:
        """Add the choices and the answer of each problem.

        Args:
            data_list (list[dict]): The samples.
        """
        problems = load_json(self.ann_file, 'ScienceQA problems.json')
        splits = load_json(self.split_file, 'ScienceQA pid_splits.json')
        if not isinstance(problems, dict) or not isinstance(splits, dict):
            raise ValueError(f'{self.ann_file} and {self.split_file} must '
                             'be JSON objects (ScienceQA\'s problems.json '
                             'and pid_splits.json).')
        if self.split not in splits:
            raise ValueError(f'{self.split_file} has no split '
                             f'{self.split!r} (it has {sorted(splits)}).')
        in_split = set(splits[self.split])
        for info in data_list:
            pid = info['question_id']
            if pid not in problems or pid not in in_split:
                raise ValueError(
                    f'ScienceQA problem {pid!r} of {self.question_file} is '
                    f'not in the {self.split!r} split of {self.ann_file} / '
                    f'{self.split_file}; the files do not belong together.')
            problem = problems[pid]
            require_keys(problem, ('choices', 'answer'), self.ann_file, pid)
            index = problem['answer']
            if not isinstance(index, int) or not 0 <= index < min(
                    len(problem['choices']), len(SQA_OPTIONS)):
                raise ValueError(f'{self.ann_file}: problem {pid} has answer '
                                 f'{index!r} for {len(problem["choices"])} '
                                 'choices.')
            info.update(choices=list(problem['choices']), gt_index=index,
                        gt_answer=SQA_OPTIONS[index])
