"""Text transforms for training data."""
from mmcv.transforms import BaseTransform

from llava_mm.constants import VQA_SHORT_ANSWER_SUFFIX
from llava_mm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class AppendToQuestion(BaseTransform):
    """Append a fixed instruction to ``results['question']``.

    LLaVA-1.5 trains on VQA questions followed by
    ``"\\nAnswer the question using a single word or phrase."`` and its VQA
    prompt template adds the same text at inference. A model trained on a
    mix of captions and VQA uses the plain ``{question}`` template, so the
    suffix has to be part of the question for the VQA samples: this transform
    puts it there, giving the exact token sequence of the VQA template.

    Required keys: ``question``. Modified: ``question``.

    Args:
        suffix (str): Text to append. Defaults to LLaVA-1.5's short-answer
            instruction.
    """

    def __init__(self, suffix: str = VQA_SHORT_ANSWER_SUFFIX) -> None:
        if not isinstance(suffix, str) or not suffix:
            raise ValueError(f'suffix must be a non-empty string, got '
                             f'{suffix!r}.')
        self.suffix = suffix

    def transform(self, results: dict) -> dict:
        question = results.get('question')
        if not isinstance(question, str):
            raise KeyError(
                'AppendToQuestion needs a "question" string in every sample '
                f'(got {type(question).__name__}); use it only in the '
                'pipeline of a VQA dataset.')
        if not question.endswith(self.suffix):
            results['question'] = question + self.suffix
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(suffix={self.suffix!r})'
