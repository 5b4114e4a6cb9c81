"""Image transforms that reproduce the official LLaVA pre-processing.

The official LLaVA opens an image with PIL and converts it to RGB, pads it to a
square with the CLIP mean colour (v1.5, ``image_aspect_ratio='pad'``), then
runs CLIP's image processor: a bicubic PIL resize of the short edge and a
centre crop. These transforms do exactly that on PIL images, so the pixels
match bit for bit; ``PackInputs`` (:mod:`.pack_inputs`) then turns the PIL
image into a (3, H, W) uint8 tensor. Normalisation happens in the data
preprocessor.
"""
import io
import os
import os.path as osp
import re
from typing import Optional, Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform
from PIL import Image, UnidentifiedImageError

from llava_mm.registry import TRANSFORMS

# CLIP's mean colour as 0-255 integers, what the official expand2square uses.
CLIP_MEAN_RGB = (122, 116, 104)

ImageInput = Union[Image.Image, np.ndarray, str, os.PathLike, bytes]


def to_rgb_pil(img: ImageInput) -> Image.Image:
    """Convert an image given in any accepted form to an 8-bit RGB PIL image.

    Grayscale, palette, RGBA/LA (alpha dropped, as the official
    ``convert('RGB')`` does), CMYK and 16-bit images are converted instead of
    rejected.

    Args:
        img (PIL.Image.Image | np.ndarray | str | os.PathLike | bytes): A
            PIL image; an array HxW or HxWxC (C in 1, 3, 4) in RGB order,
            uint8, uint16 or float in [0, 1]; a file path; or the bytes of
            an encoded image file (PNG, JPEG, ...).

    Returns:
        PIL.Image.Image: The image in mode ``'RGB'``.
    """
    if isinstance(img, (str, os.PathLike)):
        return load_image_file(img)
    if isinstance(img, (bytes, bytearray, memoryview)):
        return _decode(io.BytesIO(bytes(img)), f'{len(img)} bytes of image '
                       'data')
    if isinstance(img, np.ndarray):
        img = Image.fromarray(_to_uint8(img))
    if not isinstance(img, Image.Image):
        raise TypeError(
            f'Expected an image (PIL image, numpy array, file path or '
            f'encoded image bytes), got {type(img).__name__}.')
    if 0 in img.size:
        raise ValueError(f'The image is empty ({img.size[0]}x{img.size[1]} '
                         'pixels); pass an image with pixels.')
    if img.mode in ('I;16', 'I;16B', 'I;16L', 'I'):
        # 16/32-bit grayscale: scale to 8 bits rather than clip at 255.
        arr = np.asarray(img, dtype=np.int64)
        shift = 8 if img.mode.startswith('I;16') or arr.max() > 255 else 0
        img = Image.fromarray((arr >> shift).clip(0, 255).astype(np.uint8))
    elif img.mode == 'F':
        img = Image.fromarray(_to_uint8(np.asarray(img, dtype=np.float32)))
    return img if img.mode == 'RGB' else img.convert('RGB')


@TRANSFORMS.register_module()
class LoadImage(BaseTransform):
    """Load ``results['img_path']`` (or take ``results['img']``) as RGB PIL.

    Required keys: ``img_path`` or ``img``. Added/modified: ``img``,
    ``ori_shape`` (H, W).
    """

    def transform(self, results: dict) -> dict:
        if results.get('img') is None:
            path = results.get('img_path')
            if path is None:
                raise KeyError('LoadImage needs "img_path" or "img".')
            results['img'] = load_image_file(path)
        else:
            results['img'] = to_rgb_pil(results['img'])
        results['ori_shape'] = results['img'].size[::-1]
        return results


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """An HxW or HxWx3/4 uint8 array from an accepted image array."""
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3
                                  and arr.shape[-1] not in (3, 4)):
        raise ValueError(
            f'An image array must be HxW or HxWx3/4, got shape {arr.shape}.')
    if arr.size == 0:
        raise ValueError(f'The image array is empty (shape {arr.shape}); '
                         'pass an image with pixels.')
    if arr.dtype == np.uint16:
        return (arr >> 8).astype(np.uint8)
    if np.issubdtype(arr.dtype, np.floating):
        lo, hi = float(np.min(arr)), float(np.max(arr))
        if not (0 <= lo and hi <= 1):  # also catches NaN
            raise ValueError(
                f'A float image array must hold values in [0, 1]; this one '
                f'spans [{lo:g}, {hi:g}]. For 0-255 values pass '
                '`arr.astype(np.uint8)`, or divide by 255.')
        return np.ascontiguousarray(
            (arr * 255).round().astype(np.uint8))
    if arr.dtype != np.uint8:
        raise ValueError(f'Unsupported image array dtype {arr.dtype}; '
                         'use uint8, uint16 or float in [0, 1].')
    return np.ascontiguousarray(arr)


def _decode(source, name: str) -> Image.Image:
    """Open and fully read an image file/stream as RGB."""
    try:
        with Image.open(source) as im:
            im.load()
            return to_rgb_pil(im)
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f'Cannot read {name} as an image ({e}).') from e


def load_image_file(path: Union[str, os.PathLike]) -> Image.Image:
    """Open an image file as RGB with a clear error for a bad path.

    Args:
        path (str | os.PathLike): The image file. URLs are not fetched.

    Returns:
        PIL.Image.Image: The image in mode ``'RGB'``.
    """
    path = os.fspath(path)
    if re.match(r'^[a-zA-Z][a-zA-Z0-9+.-]*://', path):
        raise ValueError(
            f'{path} is a URL; llava_mm does not fetch images (it works '
            'offline). Download the image and pass the file path, or pass '
            'its bytes or a PIL image.')
    if not osp.isfile(path):
        raise FileNotFoundError(f'Image file not found: {path}')
    return _decode(path, path)


@TRANSFORMS.register_module()
class PadToSquare(BaseTransform):
    """Pad a PIL image to a square, centred, like LLaVA's ``expand2square``.

    Args:
        background (Sequence[int]): RGB fill colour. Defaults to CLIP's mean
            colour (122, 116, 104).
    """

    def __init__(self, background: Sequence[int] = CLIP_MEAN_RGB) -> None:
        self.background = tuple(int(c) for c in background)

    def transform(self, results: dict) -> dict:
        img = results['img']
        w, h = img.size
        if w != h:
            side = max(w, h)
            square = Image.new(img.mode, (side, side), self.background)
            square.paste(img, ((side - w) // 2, (side - h) // 2))
            results['img'] = square
        return results


@TRANSFORMS.register_module()
class CLIPResizeCrop(BaseTransform):
    """CLIP's image-processor geometry: short-edge resize, then centre crop.

    Args:
        scale (int): Target short edge and crop size (224 or 336 for LLaVA).
        crop_size (int, optional): Crop size. Defaults to ``scale``.
        interpolation (str): ``'bicubic'`` (CLIP) or ``'bilinear'``.
    """

    _PIL = {'bicubic': Image.BICUBIC, 'bilinear': Image.BILINEAR}

    def __init__(self, scale: int, crop_size: Optional[int] = None,
                 interpolation: str = 'bicubic') -> None:
        self.scale = scale
        self.crop_size = crop_size or scale
        self.resample = self._PIL[interpolation]

    def transform(self, results: dict) -> dict:
        img = results['img']
        w, h = img.size
        short, long = min(w, h), max(w, h)
        new_long = int(self.scale * long / short)
        size = (self.scale, new_long) if w <= h else (new_long, self.scale)
        if size != (w, h):
            img = img.resize(size, resample=self.resample)
        w, h = img.size
        c = self.crop_size
        top, left = (h - c) // 2, (w - c) // 2
        if (w, h) != (c, c):
            img = img.crop((left, top, left + c, top + c))
        results['img'] = img
        results['img_shape'] = (c, c)
        return results
