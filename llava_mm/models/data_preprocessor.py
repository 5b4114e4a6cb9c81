"""Data preprocessor: move to device, stack, BGR->RGB if asked, normalise."""
from typing import Optional, Sequence

import torch
from mmengine.model import BaseDataPreprocessor

from llava_mm.registry import MODELS

CLIP_MEAN = (122.770938, 116.7460125, 104.09373615)
CLIP_STD = (68.5005327, 66.6321579, 70.32316305)


@MODELS.register_module()
class MultiModalDataPreprocessor(BaseDataPreprocessor):
    """Turn a collated batch into ``dict(images=..., data_samples=...)``.

    Mean and std are plain attributes, not buffers, so a model built on the
    meta device needs nothing re-created here.

    Args:
        mean (Sequence[float]): Per-channel mean on the 0-255 scale, in the
            order of the *output* channels (RGB). Defaults to CLIP's.
        std (Sequence[float]): Per-channel std on the 0-255 scale.
        to_rgb (bool): Flip BGR inputs to RGB. Our ``LoadImage`` already
            gives RGB, so our configs set False; set True for a pipeline
            that loads BGR with mmcv's ``LoadImageFromFile``.
        non_blocking (bool): Asynchronous host-to-device copy.
    """

    def __init__(self,
                 mean: Sequence[float] = CLIP_MEAN,
                 std: Sequence[float] = CLIP_STD,
                 to_rgb: bool = False,
                 non_blocking: bool = False) -> None:
        super().__init__(non_blocking=non_blocking)
        self.mean = [float(m) for m in mean]
        self.std = [float(s) for s in std]
        self.to_rgb = to_rgb

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """Normalise (B, 3, H, W) or tiled (B, T, 3, H, W) 0-255 images.

        Args:
            images (torch.Tensor): uint8 or float images.

        Returns:
            torch.Tensor: Float32 normalised images.
        """
        if images.ndim not in (4, 5) or images.shape[-3] != 3:
            raise ValueError(f'Expected images of shape (B, 3, H, W) or '
                             f'(B, tiles, 3, H, W), got '
                             f'{tuple(images.shape)}.')
        if self.to_rgb:
            images = images.flip(-3)
        images = images.float()
        mean = images.new_tensor(self.mean).view(3, 1, 1)
        std = images.new_tensor(self.std).view(3, 1, 1)
        return (images - mean) / std

    def forward(self, data: dict, training: bool = False) -> dict:
        """Preprocess a collated batch.

        Args:
            data (dict): ``inputs`` (list of (3, H, W) tensors, or of
                (T_i, 3, H, W) tiles from ``AnyResTiles``, or a stacked
                tensor) and ``data_samples``.
            training (bool): Unused; kept for the mmengine interface.

        Returns:
            dict: ``images`` (B, 3, H, W), or (B, max T_i, 3, H, W) for
            tiles (zero tiles after each sample's own, as transformers'
            ``LlavaNextImageProcessor`` pads), float32, and
            ``data_samples``.
        """
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):
            tiled = bool(inputs) and all(x.ndim == 4 for x in inputs)
            shapes = {tuple(x.shape[tiled:]) for x in inputs}
            if len(shapes) > 1:
                raise ValueError(
                    'Images in a batch have different shapes '
                    f'{sorted(shapes)}; the pipeline must resize/crop them '
                    'to one size.')
            if tiled:  # zero tiles (after normalising) fill the batch
                return dict(images=stack_tiles(
                    [self.normalize(x) for x in inputs]),
                    data_samples=data.get('data_samples'))
            inputs = torch.stack(list(inputs))
        samples: Optional[list] = data.get('data_samples')
        return dict(images=self.normalize(inputs), data_samples=samples)


def stack_tiles(tiles: Sequence[torch.Tensor]) -> torch.Tensor:
    """Stack per-sample tiles (T_i, 3, H, W) into (B, max T_i, 3, H, W).

    Samples with fewer tiles get zero tiles after their own (the model
    reads only each sample's own, as transformers' LLaVA-NeXT does).
    """
    most = max(t.shape[0] for t in tiles)
    return torch.stack([
        torch.cat([t, t.new_zeros(most - t.shape[0], *t.shape[1:])])
        for t in tiles])


def build_data_preprocessor(cfg: Optional[dict]) -> BaseDataPreprocessor:
    """Build a model's data preprocessor; the type defaults to ours.

    Args:
        cfg (dict, optional): Its config (``None``: all defaults).

    Returns:
        BaseDataPreprocessor: The built preprocessor.
    """
    cfg = dict(cfg or {})
    cfg.setdefault('type', 'MultiModalDataPreprocessor')
    return MODELS.build(cfg)
