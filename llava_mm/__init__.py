"""llava_mm: LLaVA v1/v1.5 for the OpenMMLab world.

A light facade: the API below is imported on first use, and config types
register themselves when a config names them (the registries' ``locations``
in :mod:`llava_mm.registry`).
"""
from .utils import third_party
from .utils.lazy import lazy_exports
from .version import __version__

third_party.install()

__getattr__, __dir__, _api = lazy_exports(__name__, {
    'ImageCaptionInferencer': '.apis.image_caption',
    'LlavaChat': '.apis.chat',
    'VisualQuestionAnsweringInferencer': '.apis.vqa',
    'get_model': '.apis.inference',
    'inference_model': '.apis.inference',
    'init_model': '.apis.inference',
    'list_models': '.apis.model_index',
})
__all__ = ['__version__', *_api]
