"""The last step of every pipeline: the image as a tensor, the rest in a
``DataSample``.

The same config fields as mmpretrain's ``PackInputs`` (``input_key``,
``algorithm_keys``, ``meta_keys``), for the inputs LLaVA's pipelines make.
It is llava_mm's own so that building a pipeline does not import
``mmpretrain.datasets`` (every dataset class of mmpretrain, torchvision,
pycocotools), which captioning one image does not need.
"""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmpretrain.structures import DataSample
from PIL import Image

from llava_mm.registry import TRANSFORMS


def image_to_tensor(img) -> torch.Tensor:
    """A (C, H, W) tensor of an image in the pipeline's forms.

    Args:
        img (PIL.Image.Image | np.ndarray | torch.Tensor): A PIL image, an
            HxW or HxWxC array, or a tensor (kept as it is, e.g. the tiles
            of LLaVA-NeXT).

    Returns:
        torch.Tensor: The image, channels first, in its own dtype.
    """
    if isinstance(img, torch.Tensor):
        return img
    if isinstance(img, Image.Image):
        img = np.asarray(img)
    if not isinstance(img, np.ndarray):
        raise TypeError(f'PackInputs takes a PIL image, an array or a '
                        f'tensor, got {type(img).__name__}.')
    if img.ndim == 2:
        img = img[..., None]
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))


@TRANSFORMS.register_module()
class PackInputs(BaseTransform):
    """Pack ``results[input_key]`` as ``inputs`` and the named keys into a
    ``DataSample`` (``data_samples``).

    Args:
        input_key (str): The image key. Defaults to ``'img'``.
        algorithm_keys (Sequence[str]): Keys stored as data fields (e.g.
            ``'question'``, ``'gt_answer'``, ``'conversation'``).
        meta_keys (Sequence[str]): Keys stored as meta information (e.g.
            ``'image_id'``, ``'img_path'``).
    """

    DEFAULT_META_KEYS = ('sample_idx', 'img_path', 'ori_shape', 'img_shape',
                         'scale_factor', 'flip', 'flip_direction')

    def __init__(self, input_key: str = 'img',
                 algorithm_keys: Sequence[str] = (),
                 meta_keys: Sequence[str] = DEFAULT_META_KEYS) -> None:
        self.input_key = input_key
        self.algorithm_keys = algorithm_keys
        self.meta_keys = meta_keys

    def transform(self, results: dict) -> dict:
        packed = {}
        if self.input_key in results:
            packed['inputs'] = image_to_tensor(results[self.input_key])
        sample = DataSample()
        for key in self.algorithm_keys:
            if key in results:
                sample.set_field(results[key], key)
        for key in self.meta_keys:
            if key in results:
                sample.set_field(results[key], key, field_type='metainfo')
        packed['data_samples'] = sample
        return packed

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(input_key='{self.input_key}', "
                f'algorithm_keys={self.algorithm_keys}, '
                f'meta_keys={self.meta_keys})')
