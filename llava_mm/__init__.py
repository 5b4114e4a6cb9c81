"""llava_mm: LLaVA v1/v1.5 for the OpenMMLab world."""
from . import datasets, models  # noqa: F401  (register modules)
from .apis import (ImageCaptionInferencer, LlavaChat,
                   VisualQuestionAnsweringInferencer, get_model,
                   inference_model, init_model, list_models)
from .version import __version__

__all__ = [
    '__version__', 'ImageCaptionInferencer', 'LlavaChat',
    'VisualQuestionAnsweringInferencer', 'get_model', 'inference_model',
    'init_model', 'list_models'
]
