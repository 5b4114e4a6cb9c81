"""The official LLaVA demo's "preprocess for non-square image" modes, made
of the test pipeline's own transforms.

The image is made square as the mode asks; the model's test pipeline then
only resizes it (``PadToSquare`` leaves a square alone, and
``CLIPResizeCrop`` of a square at its size does nothing).
"""
from typing import List, Union

from PIL import Image

from llava_mm.registry import TRANSFORMS

from .transforms import ImageInput, to_rgb_pil

# Default is the pipeline as configured (pad for LLaVA-1.5, crop for v1).
IMAGE_MODES = ('Default', 'Pad', 'Resize', 'Crop')


def square_image(img: ImageInput, mode: str,
                 pipeline: List[dict]) -> Union[ImageInput, Image.Image]:
    """The image as ``mode`` asks, for a model whose test pipeline is
    ``pipeline``.

    Args:
        img: A path, PIL image, array or encoded bytes.
        mode (str): ``'Default'`` (``img`` unchanged), ``'Pad'`` (centred on
            a square of the pipeline's padding colour, CLIP's mean by
            default), ``'Resize'`` (squashed to the crop size, as the
            official demo's ``image.resize((336, 336))``) or ``'Crop'``
            (short edge resized, centre square cut).
        pipeline (list[dict]): The model's ``test_pipeline``, with a
            ``CLIPResizeCrop`` step.

    Returns:
        The image to give the model in place of ``img``.
    """
    if mode not in IMAGE_MODES:
        raise ValueError(f'Image process mode {mode!r}: use one of '
                         f'{list(IMAGE_MODES)}.')
    if mode == 'Default':
        return img
    steps = {t['type'].split('.')[-1]: t for t in pipeline}
    if 'CLIPResizeCrop' not in steps:
        raise ValueError(f'Image process mode {mode} needs a CLIPResizeCrop '
                         "step in the model's test_pipeline; use Default.")
    resize = steps['CLIPResizeCrop']
    results = dict(img=to_rgb_pil(img))
    if mode == 'Pad':
        TRANSFORMS.build(steps.get('PadToSquare', dict(
            type='PadToSquare'))).transform(results)
    elif mode == 'Crop':
        TRANSFORMS.build(resize).transform(results)
    else:
        size = resize.get('crop_size') or resize['scale']
        results['img'] = results['img'].resize((size, size), Image.BICUBIC)
    return results['img']
