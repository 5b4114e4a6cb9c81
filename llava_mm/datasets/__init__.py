from .anyres import AnyResTiles
from .coco_caption import COCOCaption
from .coco_vqa import COCOVQA
from .llava_instruct import LLaVAInstruct
from .samplers import LengthGroupedSampler, PhaseSampler
from .transforms import (CLIPResizeCrop, LoadImage, PackInputs, PadToSquare,
                         load_image_file, to_rgb_pil)
from .text_transforms import AppendToQuestion  # noqa: F401

__all__ = [
    'AnyResTiles', 'CLIPResizeCrop', 'COCOCaption', 'COCOVQA', 'LLaVAInstruct',
    'LengthGroupedSampler', 'LoadImage',
    'PackInputs', 'PhaseSampler',
    'PadToSquare', 'load_image_file', 'to_rgb_pil'
]
