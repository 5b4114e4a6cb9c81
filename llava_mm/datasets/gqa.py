"""GQA test-dev (balanced), as LLaVA-1.5 evaluates it."""
from typing import List

from llava_mm.registry import DATASETS
from llava_mm.utils.data_files import describe, load_json, require_keys

from .llava_eval_questions import LLaVAEvalQuestions


@DATASETS.register_module()
class GQA(LLaVAEvalQuestions):
    """GQA questions from LLaVA's file, answers from GQA's own.

    ``llava_gqa_testdev_balanced.jsonl`` (LLaVA's eval.zip) holds the
    prompts; ``testdev_balanced_questions.json`` (GQA's release) maps each
    question id to ``{"question", "answer", "isBalanced", "types":
    {"structural", ...}, ...}``.

    Adds ``gt_answer``, ``structural`` (the question's structural type:
    ``query`` questions are "open", the others "binary") and
    ``is_balanced`` to each sample.

    Args:
        ann_file (str): GQA's questions file of the split.
        **kwargs: Arguments of :class:`LLaVAEvalQuestions`.
    """

    benchmark = 'GQA'

    def add_ground_truth(self, data_list: List[dict]) -> None:
        """Add GQA's answer and question type to each sample.

        Args:
            data_list (list[dict]): The samples.
        """
        path = self.ann_file
        questions = load_json(path, 'GQA questions file')
        if not isinstance(questions, dict):
            raise ValueError(
                f'{path}: expected GQA\'s questions format, an object of '
                'question id -> {"question", "answer", "types", ...}, got '
                f'{describe(questions)}.')
        for info in data_list:
            qid = str(info['question_id'])
            if qid not in questions:
                raise ValueError(
                    f'GQA question {qid} of {self.question_file} is not in '
                    f'{path}; the files do not belong together.')
            question = questions[qid]
            require_keys(question, ('answer', 'types'), path, qid)
            info.update(gt_answer=question['answer'],
                        structural=question['types'].get('structural'),
                        is_balanced=question.get('isBalanced', True))
