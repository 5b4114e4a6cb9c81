"""LLaVA-NeXT's "anyres" image features: tiles, unpadding, row newlines.

LLaVA-1.6 (``image_aspect_ratio='anyres'``, ``mm_patch_merge_type=
'spatial_unpad'``) sees an image as a base view (the whole image squashed to
the tower's size) plus the tiles of a grid chosen from
``image_grid_pinpoints`` (:class:`~llava_mm.datasets.AnyResTiles` makes
them). The features of one image are, in order::

    base view's patches (N)
    the tiles' patches as one feature map, rows of tiles top to bottom, the
    rows and columns that only saw padding cut off, and a learned
    ``image_newline`` vector after every row

as the official LLaVA and transformers' ``LlavaNextForConditionalGeneration``
build them, so the number of image tokens depends on the image's size
(:meth:`AnyRes.num_tokens`). Grid and sizes are ``(height, width)``, as in
transformers' ``image_grid_pinpoints``.
"""
from typing import Callable, List, Optional, Sequence, Tuple

import torch
from torch import nn

from llava_mm.utils.image_grid import best_resolution, check_pinpoints

ASPECT_RATIOS = ('square', 'pad', 'anyres')
MERGE_TYPES = ('flat', 'spatial_unpad')


def unpadded_box(image_size: Sequence[int], height: int,
                 width: int) -> Tuple[int, int, int, int]:
    """The part of a ``height`` x ``width`` feature map holding the image.

    The tiled image was resized to fit its grid and centred with padding;
    this finds the rows (or columns) of the feature map that saw only the
    padding, as transformers' ``unpad_image`` does (rounded to 7 digits
    before truncation).

    Args:
        image_size (Sequence[int]): The original (H, W).
        height (int): Feature rows of the whole grid.
        width (int): Feature columns of the whole grid.

    Returns:
        tuple: ``(top, bottom, left, right)``, slice bounds.
    """
    h, w = (int(v) for v in image_size)
    if w / h > width / height:
        new_h = int(round(h * (width / w), 7))
        pad = (height - new_h) // 2
        return pad, height - pad, 0, width
    new_w = int(round(w * (height / h), 7))
    pad = (width - new_w) // 2
    return 0, height, pad, width - pad


def build_anyres(image_aspect_ratio: str,
                 image_grid_pinpoints: Optional[Sequence[Sequence[int]]],
                 mm_patch_merge_type: str,
                 vision_tower: nn.Module) -> Optional['AnyRes']:
    """The :class:`AnyRes` of a model config, None unless ``'anyres'``.

    Args:
        image_aspect_ratio (str): One of :data:`ASPECT_RATIOS`.
        image_grid_pinpoints (Sequence, optional): ``[[height, width],
            ...]``.
        mm_patch_merge_type (str): One of :data:`MERGE_TYPES`.
        vision_tower (nn.Module): Gives the tile and patch sizes.

    Returns:
        AnyRes | None: The layout, None for one tower input per image.
    """
    if image_aspect_ratio not in ASPECT_RATIOS:
        raise ValueError(f'image_aspect_ratio must be one of '
                         f'{ASPECT_RATIOS}, got {image_aspect_ratio!r}.')
    if image_aspect_ratio != 'anyres':
        return None
    return AnyRes(image_grid_pinpoints, vision_tower.img_size,
                  vision_tower.patch_size, mm_patch_merge_type)


def image_newline(width: int) -> nn.Parameter:
    """A fresh ``image_newline`` (normal, std ``width ** -0.5``)."""
    return nn.Parameter(torch.randn(width) * width**-0.5)


class AnyRes:
    """How the features of one tiled image are counted and laid out.

    Args:
        image_grid_pinpoints (Sequence): ``[[height, width], ...]``.
        tile_size (int): The vision tower's input size (336).
        patch_size (int): The tower's patch size (14).
        merge_type (str): ``'spatial_unpad'`` (LLaVA-1.6: unpadded grid
            with row newlines) or ``'flat'`` (base and tile features as
            they come, no newline).
    """

    def __init__(self, image_grid_pinpoints: Sequence[Sequence[int]],
                 tile_size: int, patch_size: int,
                 merge_type: str = 'spatial_unpad') -> None:
        if merge_type not in MERGE_TYPES:
            raise ValueError(f'mm_patch_merge_type must be one of '
                             f'{MERGE_TYPES}, got {merge_type!r}.')
        self.pinpoints = check_pinpoints(image_grid_pinpoints, tile_size)
        self.tile_size = tile_size
        self.side = tile_size // patch_size  # patches per tile side
        self.merge_type = merge_type

    @property
    def uses_newline(self) -> bool:
        """Whether the model holds a learned ``image_newline``."""
        return self.merge_type == 'spatial_unpad'

    def grid(self, image_size: Sequence[int]) -> Tuple[int, int]:
        """(rows, cols) of tiles for an image of ``image_size`` (H, W)."""
        h, w = best_resolution(image_size, self.pinpoints)
        return h // self.tile_size, w // self.tile_size

    def num_tiles(self, image_size: Sequence[int]) -> int:
        """Tower inputs of one image: the base view plus its tiles."""
        rows, cols = self.grid(image_size)
        return 1 + rows * cols

    def num_tokens(self, image_size: Sequence[int]) -> int:
        """Image positions in the prompt for an image of ``image_size``."""
        rows, cols = self.grid(image_size)
        base = self.side**2
        if self.merge_type == 'flat':
            return base * (1 + rows * cols)
        top, bottom, left, right = unpadded_box(
            image_size, rows * self.side, cols * self.side)
        return base + (bottom - top) * (right - left + 1)

    def pack(self, feats: torch.Tensor, image_size: Sequence[int],
             newline: Optional[torch.Tensor]) -> torch.Tensor:
        """Lay out one image's projected features.

        Args:
            feats (torch.Tensor): (1 + rows * cols, side * side, D), the
                base view first, then the tiles row by row.
            image_size (Sequence[int]): The original (H, W).
            newline (torch.Tensor, optional): (D,), for ``spatial_unpad``.

        Returns:
            torch.Tensor: (:meth:`num_tokens`, D).
        """
        rows, cols = self.grid(image_size)
        if feats.shape[0] != 1 + rows * cols:
            raise ValueError(
                f'An image of size {tuple(image_size)} is tiled on a '
                f'{rows}x{cols} grid ({1 + rows * cols} tower inputs), got '
                f'{feats.shape[0]}: the pipeline\'s AnyResTiles and the '
                'model must use the same image_grid_pinpoints.')
        if self.merge_type == 'flat':
            return feats.flatten(0, 1)
        s, D = self.side, feats.shape[-1]
        # (rows, cols, s, s, D) -> (rows * s, cols * s, D): one feature map.
        grid = feats[1:].view(rows, cols, s, s, D).permute(0, 2, 1, 3, 4)
        grid = grid.reshape(rows * s, cols * s, D)
        top, bottom, left, right = unpadded_box(image_size, rows * s,
                                                cols * s)
        grid = grid[top:bottom, left:right]
        ends = newline.to(grid.dtype).expand(grid.shape[0], 1, D)
        return torch.cat([feats[0], torch.cat([grid, ends], 1).flatten(0, 1)])

    def encode(self, encode_tiles: Callable[[torch.Tensor], torch.Tensor],
               images: torch.Tensor, data_samples: Sequence,
               newline: Optional[torch.Tensor]) -> List[torch.Tensor]:
        """Features of a batch of tiled images, one tower pass for all.

        Args:
            encode_tiles (Callable): (T, 3, S, S) -> (T, side * side, D)
                projected patch features.
            images (torch.Tensor): (B, T_max, 3, S, S), each image's tower
                inputs first, zero tiles after them (batch padding).
            data_samples (Sequence[DataSample]): With each image's
                original ``image_size`` (H, W).
            newline (torch.Tensor, optional): The learned row end.

        Returns:
            list[torch.Tensor]: (N_b, D) per image.
        """
        image_sizes = sample_image_sizes(data_samples, images.shape[0])
        counts = [self.num_tiles(size) for size in image_sizes]
        if images.ndim != 5 or max(counts) > images.shape[1]:
            raise ValueError(
                f'Tiled images (B, tiles, 3, H, W) with at least '
                f'{max(counts)} tiles are needed for images of sizes '
                f'{[tuple(s) for s in image_sizes]}, got '
                f'{tuple(images.shape)}: the pipeline\'s AnyResTiles and '
                'the model must use the same image_grid_pinpoints.')
        tiles = torch.cat([img[:n] for img, n in zip(images, counts)])
        feats = encode_tiles(tiles).split(counts)
        return [self.pack(f, size, newline)
                for f, size in zip(feats, image_sizes)]


def sample_image_sizes(data_samples: Sequence, batch: int) -> List[tuple]:
    """The ``image_size`` each tiled sample's pipeline recorded.

    Args:
        data_samples (Sequence[DataSample | None]): The batch's samples.
        batch (int): The number of images.

    Returns:
        list[tuple]: (H, W) per sample.
    """
    sizes = [None if s is None else s.get('image_size')
             for s in (data_samples or [None] * batch)]
    if len(sizes) != batch or any(s is None for s in sizes):
        raise ValueError(
            'A model with image_aspect_ratio="anyres" needs each data '
            'sample\'s "image_size" (H, W), recorded by the AnyResTiles '
            'transform: add "image_size" to the meta_keys of PackInputs in '
            'the test pipeline.')
    return [tuple(int(v) for v in s) for s in sizes]
