"""``VisualQuestionAnsweringInferencer``: answers about images."""
from typing import Dict, List, Optional, Sequence, Union

from mmpretrain.structures import DataSample

from llava_mm.registry import INFERENCERS

from .base_inferencer import LlavaInferencer, image_item
from .model_index import list_models as _list_models


@INFERENCERS.register_module()
class VisualQuestionAnsweringInferencer(LlavaInferencer):
    """Answer questions about images with a LLaVA VQA model.

    Args:
        model (str | Config | Llava): A VQA model's name, config or the
            built model. See :class:`LlavaInferencer` for the others.

    Example:
        >>> from llava_mm.apis import VisualQuestionAnsweringInferencer
        >>> vqa = VisualQuestionAnsweringInferencer('llava-tiny-shapes_vqa')
        >>> vqa('demo/shapes.png', 'What shape is the red object?')
        [{'question': 'What shape is the red object?',
          'pred_answer': 'circle'}]
    """

    task = 'vqa'

    def __call__(self,
                 inputs,
                 questions: Union[str, Sequence[str], None] = None,
                 batch_size: int = 1,
                 show: bool = False,
                 show_dir: Optional[str] = None,
                 return_datasamples: bool = False,
                 **kwargs) -> Union[List[Dict], List[DataSample]]:
        """Answer questions.

        Args:
            inputs: ``{'image': ..., 'question': ...}`` or a list of such
                dicts (``questions`` not given); or images as
                :class:`ImageCaptionInferencer` takes them (a path, a
                directory, an array, a PIL image or a list).
            questions (str | list[str], optional): With images: one question
                for every image, one question per image, or several
                questions about a single image.
            batch_size (int): Samples per forward pass.
            show (bool): Show each drawn answer in a window.
            show_dir (str, optional): Save the drawn questions and answers
                here as ``<image name>.png``.
            return_datasamples (bool): Return the data samples instead of
                dicts.
            **kwargs: ``wait_time``/``resize`` for the drawing; anything
                else overrides the model's ``generation_cfg``.

        Returns:
            list[dict]: ``{'question': str, 'pred_answer': str}`` per
            question, in input order.
        """
        items = self._items(inputs, questions)
        return self._run(items, batch_size, show, show_dir,
                         return_datasamples, kwargs)

    def _items(self, inputs, questions) -> List[dict]:
        """Pair images with questions (see :meth:`__call__`)."""
        dicts = isinstance(inputs, dict) or (
            isinstance(inputs, (list, tuple)) and inputs
            and all(isinstance(x, dict) for x in inputs))
        if dicts:
            if questions is not None:
                raise ValueError('Give the questions either in the '
                                 '{"image", "question"} dicts or as '
                                 '`questions`, not both.')
            pairs = [self._dict_pair(d, i) for i, d in enumerate(
                [inputs] if isinstance(inputs, dict) else inputs)]
        else:
            if questions is None:
                raise ValueError(
                    'A VQA model needs questions: pass questions=... or '
                    '{"image": ..., "question": ...} dicts.')
            images = self._images_to_list(inputs)
            qs = [questions] if isinstance(questions, str) else list(
                questions)
            if len(images) == 1:
                images = images * len(qs)
            elif len(qs) == 1:
                qs = qs * len(images)
            if len(images) != len(qs) or not qs:
                raise ValueError(
                    f'{len(images)} images and {len(qs)} questions: give one '
                    'question per image, one question for all images, or '
                    'one image with any number of questions.')
            pairs = list(zip(images, qs))
        items = []
        for i, (image, question) in enumerate(pairs):
            if not isinstance(question, str) or not question.strip():
                raise ValueError(f'Question {i} is {question!r}; a question '
                                 'must be a non-empty string.')
            items.append(dict(image_item(image), question=question))
        return items

    @staticmethod
    def _dict_pair(d: dict, i: int) -> tuple:
        keys = [k for k in ('image', 'img') if k in d]
        if len(keys) != 1 or 'question' not in d:
            raise ValueError(
                f'VQA input {i} has the keys {sorted(d)}; it needs "image" '
                '(a path, an array or a PIL image) and "question".')
        return d[keys[0]], d['question']

    def pred_to_dict(self, pred: DataSample) -> dict:
        return {'question': pred.get('question'),
                'pred_answer': pred.pred_answer}

    @staticmethod
    def list_models(pattern: Optional[str] = None) -> List[str]:
        """Names of the VQA models (see :func:`list_models`)."""
        return _list_models(pattern, task='Visual Question Answering')
