"""TextVQA val, as LLaVA-1.5 evaluates it (with reference OCR tokens)."""
import re
from typing import List

from llava_mm.registry import DATASETS
from llava_mm.utils.data_files import describe, load_json, require_keys

from .llava_eval_questions import LLaVAEvalQuestions

_OCR_PROMPT = re.compile(r'Question: (.*?) Short answer:', re.DOTALL)


def textvqa_question(prompt: str) -> str:
    """The TextVQA question a LLaVA prompt asks, lower-cased.

    As ``prompt_processor`` of LLaVA's ``eval_textvqa.py``: LLaVA-1.5's
    prompts are ``question\\nReference OCR token: ...\\ninstruction``
    (the question is the first line; the OCR line may also come first),
    prompts without OCR tokens ``question\\ninstruction``, and the older
    ``OCR tokens: ... Question: ... Short answer:`` form is read too.

    Args:
        prompt (str): The ``text`` of a LLaVA TextVQA question file entry.

    Returns:
        str: The question, lower-cased.

    Raises:
        ValueError: The prompt has none of these forms.
    """
    lines = prompt.split('\n')
    if prompt.startswith('OCR tokens: '):
        match = _OCR_PROMPT.search(prompt)
        if match is None:
            raise ValueError(f'No "Question: ... Short answer:" in the '
                             f'TextVQA prompt {prompt!r}.')
        question = match.group(1)
    elif 'Reference OCR token: ' in prompt and len(lines) == 3:
        question = lines[1] if prompt.startswith(
            'Reference OCR token:') else lines[0]
    elif len(lines) == 2:
        question = lines[0]
    else:
        raise ValueError(f'The TextVQA prompt {prompt!r} has none of the '
                         'forms of LLaVA\'s question files.')
    return question.lower()


@DATASETS.register_module()
class TextVQA(LLaVAEvalQuestions):
    """TextVQA questions from LLaVA's file, answers from TextVQA's own.

    ``llava_textvqa_val_v051_ocr.jsonl`` (LLaVA's eval.zip) gives each
    question with the image's reference OCR tokens and the short-answer
    instruction; its ``question_id`` is the TextVQA ``image_id``.
    ``TextVQA_0.5.1_val.json`` is ``{"data": [{"image_id", "question",
    "answers": [10 answers], ...}]}``. A prompt is matched to its entry by
    image id and lower-cased question (:func:`textvqa_question`), as
    ``eval_textvqa.py`` does.

    Adds ``gt_answer`` (the annotators' answers) to each sample.

    Args:
        ann_file (str): ``TextVQA_0.5.1_val.json``.
        **kwargs: Arguments of :class:`LLaVAEvalQuestions`.
    """

    benchmark = 'TextVQA'

    def add_ground_truth(self, data_list: List[dict]) -> None:
        """Add the annotators' answers to each sample.

        Args:
            data_list (list[dict]): The samples.
        """
        path = self.ann_file
        data = load_json(path, 'TextVQA annotation file')
        if not isinstance(data, dict) or not isinstance(data.get('data'),
                                                        list):
            raise ValueError(
                f'{path}: expected TextVQA\'s format {{"data": [{{'
                '"image_id", "question", "answers", ...}, ...]}, got '
                f'{describe(data)}.')
        annotations = {}
        for i, ann in enumerate(data['data']):
            require_keys(ann, ('image_id', 'question', 'answers'), path,
                         f'data[{i}]')
            annotations[(ann['image_id'], ann['question'].lower())] = ann
        for info in data_list:
            question = textvqa_question(info['question'])
            ann = annotations.get((info['question_id'], question))
            if ann is None:
                raise ValueError(
                    f'TextVQA: no entry of {path} for image '
                    f'{info["question_id"]} and question {question!r} '
                    f'(from {self.question_file}); the files do not belong '
                    'together.')
            info['gt_answer'] = list(ann['answers'])
