"""VQAv2 in its official format (questions file + annotations file)."""
from collections import Counter
from typing import Dict, List, Optional

from mmpretrain.datasets import COCOVQA as _MMPretrainCOCOVQA

from llava_mm.conversation import check_question
from llava_mm.registry import DATASETS
from llava_mm.utils.data_files import describe, load_json, require_keys

from .coco_utils import NonEmptyMixin, drop_missing_images, index_images_by_id

QUESTION_KEYS = ('image_id', 'question', 'question_id')
ANNOTATION_KEYS = ('question_id', 'answers')


@DATASETS.register_module()
class COCOVQA(NonEmptyMixin, _MMPretrainCOCOVQA):
    """VQAv2 dataset, official files.

    The questions file is ``{"questions": [{"image_id", "question",
    "question_id"}, ...]}``; the annotations file (absent for test-dev) is
    ``{"annotations": [{"question_id", "image_id", "answers": [{"answer",
    ...} x 10], "answer_type", "multiple_choice_answer", ...}]}``.
    Annotations are matched to questions by ``question_id``. Images are
    found in ``data_prefix`` by the 12-digit image id their file name ends
    with (``COCO_val2014_000000000042.jpg``, ``shapes_000000000042.png``).

    Each sample has ``question``, ``question_id``, ``image_id``, ``img_path``
    and, with annotations, ``raw_answers`` (the annotators' answers in file
    order, what the official accuracy needs), ``gt_answer`` /
    ``gt_answer_weight`` (distinct answers and their share, as in
    mmpretrain), ``answer_type``, ``question_type`` and
    ``multiple_choice_answer``.

    Args:
        data_root (str): Root of the other paths.
        data_prefix (str): Image folder, relative to ``data_root``.
        question_file (str): Questions file, relative to ``data_root``.
        ann_file (str): Annotations file; ``''`` for test splits.
        skip_missing (bool): Skip questions whose image is not found (one
            warning with the count) instead of failing.
        **kwargs: Other arguments of :class:`mmengine.dataset.BaseDataset`
            (``pipeline``, ``indices``, ...).
    """

    def __init__(self,
                 data_root: str,
                 data_prefix: str,
                 question_file: str,
                 ann_file: str = '',
                 skip_missing: bool = False,
                 **kwargs) -> None:
        self.skip_missing = skip_missing
        super().__init__(data_root=data_root, data_prefix=data_prefix,
                         question_file=question_file, ann_file=ann_file,
                         **kwargs)

    def _create_image_index(self) -> Dict[int, str]:
        return index_images_by_id(self.data_prefix['img_path'])

    def _load_questions(self) -> List[dict]:
        path = self.question_file
        data = load_json(path, 'VQAv2 questions file')
        if not isinstance(data, dict) or not isinstance(
                data.get('questions'), list):
            raise ValueError(
                f'{path}: expected the official VQAv2 questions format '
                '{"questions": [{"image_id", "question", "question_id"}, '
                f'...]}}, got {describe(data)}.')
        questions = data['questions']
        if not questions:
            raise ValueError(f'{path}: "questions" is empty.')
        for i, q in enumerate(questions):
            require_keys(q, QUESTION_KEYS, path, f'questions[{i}]')
            for key in ('image_id', 'question_id'):
                if not isinstance(q[key], int) or isinstance(q[key], bool):
                    raise ValueError(f'{path}: questions[{i}] "{key}" must '
                                     f'be an integer, got {q[key]!r}.')
            check_question(q['question'], where=f'{path}: questions[{i}] '
                           f'(question_id {q["question_id"]})')
        return questions

    def _load_annotations(self) -> Optional[Dict[int, dict]]:
        if not self.ann_file:
            return None
        path = self.ann_file
        data = load_json(path, 'VQAv2 annotations file')
        if not isinstance(data, dict) or not isinstance(
                data.get('annotations'), list):
            raise ValueError(
                f'{path}: expected the official VQAv2 annotations format '
                '{"annotations": [{"question_id", "answers": [{"answer"}, '
                f'...], ...}}, ...]}}, got {describe(data)}.')
        by_question: Dict[int, dict] = {}
        for i, ann in enumerate(data['annotations']):
            where = f'annotations[{i}]'
            require_keys(ann, ANNOTATION_KEYS, path, where)
            answers = ann['answers']
            if not isinstance(answers, list) or not answers:
                raise ValueError(f'{path}: {where} "answers" must be a '
                                 'non-empty list.')
            for j, a in enumerate(answers):
                require_keys(a, ('answer', ), path, f'{where}.answers[{j}]')
            if ann['question_id'] in by_question:
                raise ValueError(f'{path}: question_id {ann["question_id"]} '
                                 'is annotated twice.')
            by_question[ann['question_id']] = ann
        return by_question

    def load_data_list(self) -> List[dict]:
        """Read and check the questions and annotations.

        Returns:
            list[dict]: One sample per question, in file order.
        """
        questions = self._load_questions()
        annotations = self._load_annotations()
        image_index = self._create_image_index()
        data_list = []
        for q in questions:
            info = dict(question=q['question'], question_id=q['question_id'],
                        image_id=q['image_id'],
                        img_path=image_index.get(q['image_id']))
            if annotations is not None:
                info.update(self._answer_fields(q, annotations))
            data_list.append(info)
        img_dir = self.data_prefix['img_path']
        return drop_missing_images(
            data_list, self.skip_missing, 'COCOVQA',
            lambda info: f'question_id {info["question_id"]}, no file for '
            f'image id {info["image_id"]} in {img_dir} (expected a name '
            f'ending in {info["image_id"]:012d}, e.g. '
            f'COCO_val2014_{info["image_id"]:012d}.jpg)')

    def _answer_fields(self, question: dict,
                       annotations: Dict[int, dict]) -> dict:
        ann = annotations.get(question['question_id'])
        if ann is None:
            raise ValueError(
                f'{self.ann_file} has no annotation for question_id '
                f'{question["question_id"]} of {self.question_file}: the two '
                'files do not belong together. For a split without answers '
                "(test-dev) set ann_file=''.")
        if 'image_id' in ann and ann['image_id'] != question['image_id']:
            raise ValueError(
                f'question_id {question["question_id"]}: image_id '
                f'{question["image_id"]} in {self.question_file} but '
                f'{ann["image_id"]} in {self.ann_file}.')
        raw = [a['answer'] for a in ann['answers']]
        count = Counter(raw)
        return dict(
            raw_answers=raw,
            gt_answer=list(count),
            gt_answer_weight=[c / len(raw) for c in count.values()],
            answer_type=ann.get('answer_type'),
            question_type=ann.get('question_type'),
            multiple_choice_answer=ann.get('multiple_choice_answer'))
