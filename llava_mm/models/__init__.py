from .builders import WeightsUnavailableError, lang_config
from .data_preprocessor import MultiModalDataPreprocessor
from .llava import Llava
from .loading import load_llava_checkpoint, read_state_dict
from .projector import build_projector
from .vision_transformer import VisionTransformer

__all__ = [
    'Llava',
    'MultiModalDataPreprocessor', 'VisionTransformer',
    'WeightsUnavailableError', 'build_projector', 'lang_config',
    'load_llava_checkpoint', 'read_state_dict'
]
