"""LLaVA-NeXT's image tiling (``image_aspect_ratio='anyres'``).

As the official ``process_anyres_image`` and transformers'
``LlavaNextImageProcessor`` (PIL backend) do it, pixel for pixel:

1. pick the grid resolution of ``image_grid_pinpoints`` that keeps the most
   of the image (:func:`~llava_mm.models.anyres.best_resolution`);
2. resize the image (bicubic, aspect ratio kept) to fit it, centre it on a
   black canvas of that resolution and cut the canvas into tiles, row by
   row;
3. put first a base view: the whole image resized (squashed) to one tile.
"""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from PIL import Image

from llava_mm.registry import TRANSFORMS
from llava_mm.utils.image_grid import (
    best_resolution,
    check_pinpoints,
    fit_size,
)


@TRANSFORMS.register_module()
class AnyResTiles(BaseTransform):
    """Tile a PIL image for LLaVA-NeXT: the base view, then the grid.

    Required keys: ``img`` (RGB PIL image, from :class:`LoadImage`).
    Modified: ``img`` becomes a (1 + rows * cols, 3, S, S) uint8 tensor.
    Added: ``image_size`` (the image's (H, W), which the model needs: keep
    it in ``PackInputs``' ``meta_keys``), ``anyres_grid`` (rows, cols) and
    ``img_shape`` (S, S).

    Args:
        image_grid_pinpoints (Sequence): ``[[height, width], ...]``, the
            model's ``image_grid_pinpoints``.
        tile_size (int): The vision tower's input size S (336).
    """

    def __init__(self, image_grid_pinpoints: Sequence[Sequence[int]],
                 tile_size: int = 336) -> None:
        self.pinpoints = check_pinpoints(image_grid_pinpoints, tile_size)
        self.tile_size = tile_size

    def transform(self, results: dict) -> dict:
        img = results['img']
        if not isinstance(img, Image.Image):
            raise TypeError('AnyResTiles takes the PIL image of LoadImage; '
                            f'got {type(img).__name__}.')
        size = (img.height, img.width)
        S = self.tile_size
        grid_h, grid_w = best_resolution(size, self.pinpoints)
        h, w = fit_size(size, (grid_h, grid_w))
        canvas = Image.new('RGB', (grid_w, grid_h), (0, 0, 0))
        canvas.paste(img.resize((w, h), resample=Image.BICUBIC),
                     ((grid_w - w) // 2, (grid_h - h) // 2))
        full = np.asarray(canvas)  # (grid_h, grid_w, 3)
        rows, cols = grid_h // S, grid_w // S
        tiles = full.reshape(rows, S, cols, S, 3).transpose(0, 2, 1, 3, 4)
        base = np.asarray(img.resize((S, S), resample=Image.BICUBIC))
        stack = np.concatenate([base[None], tiles.reshape(-1, S, S, 3)])
        results['img'] = torch.from_numpy(
            np.ascontiguousarray(stack.transpose(0, 3, 1, 2)))
        results['image_size'] = size
        results['anyres_grid'] = (rows, cols)
        results['img_shape'] = (S, S)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(image_grid_pinpoints='
                f'{[list(p) for p in self.pinpoints]}, '
                f'tile_size={self.tile_size})')
