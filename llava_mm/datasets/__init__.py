from .transforms import (CLIPResizeCrop, LoadImage, PackInputs, PadToSquare,
                         load_image_file, to_rgb_pil)

__all__ = [
    'CLIPResizeCrop', 'LoadImage', 'PackInputs', 'PadToSquare',
    'load_image_file', 'to_rgb_pil'
]
