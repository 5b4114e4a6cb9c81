from .builders import WeightsUnavailableError, lang_config
from .data_preprocessor import MultiModalDataPreprocessor
from .llava import IMAGE_TOKEN_INDEX, Llava, build_projector
from .loading import load_llava_checkpoint, read_state_dict
from .vision_transformer import VisionTransformer

__all__ = [
    'IMAGE_TOKEN_INDEX', 'Llava',
    'MultiModalDataPreprocessor', 'VisionTransformer',
    'WeightsUnavailableError', 'build_projector', 'lang_config',
    'load_llava_checkpoint', 'read_state_dict'
]
