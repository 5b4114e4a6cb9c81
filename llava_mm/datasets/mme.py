"""MME, with the ground truth of its release folder, as LLaVA reads it."""
import os.path as osp
from typing import Dict, List, Tuple

from llava_mm.constants import VQA_SHORT_ANSWER_SUFFIX
from llava_mm.registry import DATASETS

from .llava_eval_questions import LLaVAEvalQuestions

YES_NO = ' Please answer yes or no.'


def mme_image_key(question_id: str) -> Tuple[str, str]:
    """The subtask and ground-truth file of a LLaVA MME question id.

    Args:
        question_id (str): ``"<subtask>/<image file>"``, e.g.
            ``"artwork/10002.jpg"``.

    Returns:
        tuple[str, str]: E.g. ``('artwork', '10002.txt')``.
    """
    parts = str(question_id).split('/')
    return parts[0], parts[-1].split('.')[0] + '.txt'


@DATASETS.register_module()
class MME(LLaVAEvalQuestions):
    """MME (14 yes/no subtasks, two questions per image), LLaVA's files.

    ``llava_mme.jsonl`` holds LLaVA's prompts: each MME question with
    "Please answer yes or no." replaced by the short-answer instruction,
    ``question_id`` ``"<subtask>/<image file>"``. The answers are MME's
    own: ``MME_Benchmark_release_version/<subtask>/<image stem>.txt`` (or
    ``<subtask>/questions_answers_YN/<image stem>.txt`` for subtasks with
    an ``images`` folder), one ``question<TAB>Yes|No`` per line. Each
    prompt is matched to its MME question as LLaVA's
    ``convert_answer_to_mme.py`` does: the instruction removed, " Please
    answer yes or no." added back (two spaces where MME has two).

    Adds ``category`` (the subtask), ``image_key`` (subtask and image: the
    pair for acc+) and ``gt_answer`` (``'Yes'``/``'No'``) to each sample.

    Args:
        **kwargs: Arguments of :class:`LLaVAEvalQuestions`;
            ``data_prefix`` is the release folder (images and answers).
    """

    benchmark = 'MME'

    def _answers(self, subtask: str, file: str,
                 cache: Dict[tuple, dict]) -> dict:
        """Question -> answer of one image's ground-truth file."""
        key = (subtask, file)
        if key in cache:
            return cache[key]
        root = osp.join(self.data_prefix['img_path'], subtask)
        folder = osp.join(root, 'questions_answers_YN') if osp.isdir(
            osp.join(root, 'images')) else root
        path = osp.join(folder, file)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'MME: no ground-truth file {path} for the questions of '
                f'{subtask}/{file[:-4]} in {self.question_file}. Set '
                'data_prefix to MME_Benchmark_release_version.')
        answers = {}
        with open(path, encoding='utf-8') as f:
            for number, line in enumerate(f, 1):
                parts = line.strip().split('\t')
                if len(parts) != 2:
                    raise ValueError(f'{path}, line {number}: expected '
                                     '"question<TAB>answer".')
                answers[parts[0]] = parts[1]
        cache[key] = answers
        return answers

    def add_ground_truth(self, data_list: List[dict]) -> None:
        """Match each prompt to its MME question and answer.

        Args:
            data_list (list[dict]): The samples.
        """
        cache: Dict[tuple, dict] = {}
        for info in data_list:
            subtask, file = mme_image_key(info['question_id'])
            answers = self._answers(subtask, file, cache)
            question = info['question']
            instruction = VQA_SHORT_ANSWER_SUFFIX.strip()
            if instruction in question:
                question = question.replace(instruction, '').strip()
            if YES_NO.strip() not in question:
                question += YES_NO
                if question not in answers:
                    question = question.replace(YES_NO, ' ' + YES_NO)
            if question not in answers:
                raise ValueError(
                    f'MME: question_id {info["question_id"]} of '
                    f'{self.question_file} asks {question!r}, which is not '
                    f'in its ground-truth file {subtask}/{file}.')
            info.update(category=subtask, image_key=f'{subtask}/{file}',
                        gt_answer=answers[question])
