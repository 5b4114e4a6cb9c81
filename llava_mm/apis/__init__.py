from .base_inferencer import LlavaInferencer
from .chat import LlavaChat
from .image_caption import ImageCaptionInferencer
from .inference import get_model, inference_model, init_model
from .model_index import list_models
from .vqa import VisualQuestionAnsweringInferencer

__all__ = [
    'ImageCaptionInferencer', 'LlavaChat', 'LlavaInferencer',
    'VisualQuestionAnsweringInferencer', 'get_model', 'inference_model',
    'init_model', 'list_models'
]
