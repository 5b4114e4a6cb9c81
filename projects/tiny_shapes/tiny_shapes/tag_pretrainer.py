"""Pretrain a vision tower from captions: which phrases does the image show?

The real LLaVA starts from a pretrained CLIP vision tower. A LLaVA trained
from scratch (the tiny shapes model) needs a vision tower that already sees
its objects: learnt only through the language model's loss it hardly moves
in a CPU budget. This model gives it a direct signal, in the spirit of
image tagging from captions: a linear head on every patch feature, max over
the patches (multiple-instance learning), one binary target per phrase of
``tags`` (e.g. ``"red circle"``) that occurs in the sample's caption(s). The
tower sits at ``model.vision_tower`` as in :class:`Llava`, so its checkpoint
initialises a LLaVA through the config's ``load_from``.
"""
import re
from typing import Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample
from torch import nn

from llava_mm.models.data_preprocessor import build_data_preprocessor
from llava_mm.registry import MODELS


@MODELS.register_module()
class CaptionTagPretrainer(BaseModel):
    """A vision tower plus a patch-wise multi-label head over caption tags.

    Args:
        vision_encoder (dict): Config of the vision tower, the same as the
            LLaVA that will use it.
        tags (list[str]): Phrases to detect; a tag is positive when it occurs
            (as whole words) in one of the sample's ``gt_caption``.
        mm_vision_select_layer (int): As in :class:`Llava`: only the blocks
            LLaVA reads are built and trained. Defaults to -2.
        data_preprocessor (dict, optional): Defaults to
            :class:`MultiModalDataPreprocessor`.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 vision_encoder: dict,
                 tags: List[str],
                 mm_vision_select_layer: int = -2,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            init_cfg=init_cfg,
            data_preprocessor=build_data_preprocessor(data_preprocessor))
        if not tags or len(set(tags)) != len(tags):
            raise ValueError('tags must be a non-empty list of distinct '
                             f'phrases, got {tags!r}.')
        self.tags = list(tags)
        self._patterns = [re.compile(r'\b' + re.escape(t) + r'\b')
                          for t in self.tags]
        self.model = nn.Module()
        self.model.vision_tower = MODELS.build(
            dict(vision_encoder, select_layer=mm_vision_select_layer))
        self.head = nn.Linear(self.model.vision_tower.embed_dims,
                              len(self.tags))

    def init_weights(self) -> None:
        """Random init of the tower (the head keeps PyTorch's init)."""
        self.model.vision_tower.init_weights()

    def targets(self, data_samples: List[DataSample]) -> torch.Tensor:
        """Multi-hot tag targets from the samples' captions.

        Args:
            data_samples (list[DataSample]): With ``gt_caption`` (a string
                or a list of strings).

        Returns:
            torch.Tensor: (B, num_tags) float.
        """
        rows = []
        for sample in data_samples:
            caption = sample.get('gt_caption')
            if caption is None:
                raise KeyError('CaptionTagPretrainer needs "gt_caption" in '
                               'every data sample (a caption dataset).')
            text = ' '.join([caption] if isinstance(caption, str) else
                            caption).lower()
            rows.append([float(bool(p.search(text)))
                         for p in self._patterns])
        return torch.tensor(rows)

    def forward(self,
                images: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'loss'
                ) -> Union[Dict[str, torch.Tensor], List[DataSample],
                           torch.Tensor]:
        """mmengine's entry point.

        Args:
            images (torch.Tensor): (B, 3, H, W) normalised images.
            data_samples (list[DataSample], optional): With ``gt_caption``
                for ``'loss'``.
            mode (str): ``'loss'``, ``'predict'`` (sets ``pred_score``, one
                probability per tag) or ``'tensor'`` (tag logits).

        Returns:
            dict | list[DataSample] | torch.Tensor: Loss, predictions or
            (B, num_tags) logits.
        """
        feats = self.model.vision_tower(images)[:, 1:]  # (B, N, C)
        logits = self.head(feats).amax(dim=1)
        if mode == 'tensor':
            return logits
        if mode == 'loss':
            target = self.targets(data_samples).to(logits)
            return {'loss': F.binary_cross_entropy_with_logits(logits,
                                                               target)}
        if mode == 'predict':
            samples = data_samples or [DataSample() for _ in logits]
            for sample, score in zip(samples, logits.sigmoid()):
                sample.set_field(score, 'pred_score')
            return samples
        raise RuntimeError(f'Invalid mode "{mode}".')
