"""Grid geometry of LLaVA-NeXT's tiling, shared by the pipeline and model.

Sizes are ``(height, width)``, as in transformers' ``image_grid_pinpoints``.
The official LLaVA reads the same lists as ``(width, height)``: for its
symmetric lists the candidates are the same, but a tie (two grids keeping as
many pixels and wasting as many, e.g. 1x2 and 2x1 for a square image smaller
than one tile) goes to the first one read, so transformers and this package
tile such an image 1x2 where the official code tiles it 2x1.
"""
import math
from typing import List, Sequence, Tuple


def check_pinpoints(pinpoints: Sequence[Sequence[int]],
                    tile_size: int) -> List[Tuple[int, int]]:
    """Validate ``image_grid_pinpoints``.

    Args:
        pinpoints (Sequence): ``[[height, width], ...]`` grid resolutions,
            each a multiple of ``tile_size``.
        tile_size (int): The vision tower's input size.

    Returns:
        list[tuple[int, int]]: The pinpoints as tuples.
    """
    out = []
    for p in pinpoints or []:
        if (len(p) != 2 or any(int(v) != v or v <= 0 or v % tile_size
                               for v in p)):
            raise ValueError(
                f'image_grid_pinpoints holds {list(p)}: each entry must be '
                f'[height, width], positive multiples of the tile size '
                f'{tile_size} (the vision tower\'s img_size).')
        out.append((int(p[0]), int(p[1])))
    if not out:
        raise ValueError('image_aspect_ratio="anyres" needs '
                         'image_grid_pinpoints, e.g. [[336, 672], '
                         '[672, 336], [672, 672], [1008, 336], [336, 1008]].')
    return out


def best_resolution(image_size: Sequence[int],
                    pinpoints: Sequence[Tuple[int, int]]) -> Tuple[int, int]:
    """The pinpoint an image of ``image_size`` (H, W) is tiled at.

    The one keeping the most of the image's pixels, then wasting the
    fewest, the first listed on a tie (transformers'
    ``select_best_resolution``).
    """
    from transformers.image_processing_utils import select_best_resolution
    h, w = (int(v) for v in image_size)
    if h <= 0 or w <= 0:
        raise ValueError(f'Image size must be positive, got {(h, w)}.')
    return tuple(select_best_resolution((h, w), list(pinpoints)))


def fit_size(image_size: Sequence[int],
             target: Sequence[int]) -> tuple:
    """(H, W) of an image resized into ``target`` with its aspect ratio.

    The long side (relative to the target) fills it; the other is rounded
    up, at most the target's.
    """
    h, w = image_size
    th, tw = target
    if tw / w < th / h:
        return min(math.ceil(h * tw / w), th), tw
    return th, min(math.ceil(w * th / h), tw)
