from .transforms import (CLIPResizeCrop, LoadImage, PackInputs, PadToSquare,
                         load_image_file, to_rgb_pil)
from .text_transforms import AppendToQuestion  # noqa: F401

__all__ = [
    'CLIPResizeCrop', 'LoadImage', 'PackInputs', 'PadToSquare',
    'load_image_file', 'to_rgb_pil'
]
