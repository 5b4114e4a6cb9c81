"""CLIP ViT vision tower in the OpenMMLab ``VisionTransformer`` layout.

Why a compact module of our own rather than transformers' ``CLIPVisionModel``
behind a key adapter:

* its state dict *is* the OpenMMLab layout (``cls_token``, ``pos_embed``,
  ``patch_embed.projection``, ``pre_norm``, ``layers.i.{ln1,attn.qkv,attn.proj,
  ln2,ffn.layers.0.0,ffn.layers.1}``), so the released vision files load with
  no renaming;
* it builds and runs only the layers up to the one LLaVA reads
  (``mm_vision_select_layer``), where ``CLIPVisionModel`` runs every layer and
  keeps every hidden state;
* q, k and v are one fused matmul (the ``qkv`` weight already is), fed to
  ``scaled_dot_product_attention``.

The arithmetic is that of CLIP: pre-norm blocks, QuickGELU, LayerNorm eps 1e-5,
no bias in the patch convolution, no final norm on the selected hidden state.
"""
from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import nn

from llava_mm.registry import MODELS


class QuickGELU(nn.Module):
    """CLIP's activation, ``x * sigmoid(1.702 * x)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


_ACTIVATIONS = {'QuickGELU': QuickGELU, 'GELU': nn.GELU}


class Attention(nn.Module):
    """Multi-head self-attention with a fused ``qkv`` projection."""

    def __init__(self, embed_dims: int, num_heads: int) -> None:
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims={embed_dims} is not divisible by '
                             f'num_heads={num_heads}.')
        self.num_heads = num_heads
        self.qkv = nn.Linear(embed_dims, embed_dims * 3)
        self.proj = nn.Linear(embed_dims, embed_dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, L, C = x.shape
        # (B, L, 3C) -> (3, B, heads, L, head_dim)
        qkv = self.qkv(x).reshape(B, L, 3, self.num_heads, C // self.num_heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        x = F.scaled_dot_product_attention(q, k, v)
        return self.proj(x.transpose(1, 2).reshape(B, L, C))


class FFN(nn.Module):
    """``Linear -> act -> Linear`` keyed ``layers.0.0`` and ``layers.1``."""

    def __init__(self, embed_dims: int, feedforward_channels: int,
                 act: str) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Sequential(
                nn.Linear(embed_dims, feedforward_channels),
                _ACTIVATIONS[act]()),
            nn.Linear(feedforward_channels, embed_dims))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class TransformerEncoderLayer(nn.Module):
    """A pre-norm ViT block: ``x + attn(ln1(x))``, then ``x + ffn(ln2(x))``."""

    def __init__(self, embed_dims: int, num_heads: int,
                 feedforward_channels: int, eps: float, act: str) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(embed_dims, eps=eps)
        self.attn = Attention(embed_dims, num_heads)
        self.ln2 = nn.LayerNorm(embed_dims, eps=eps)
        self.ffn = FFN(embed_dims, feedforward_channels, act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.ffn(self.ln2(x))


class PatchEmbed(nn.Module):
    """Non-overlapping patch projection (no bias, as in CLIP)."""

    def __init__(self, embed_dims: int, patch_size: int) -> None:
        super().__init__()
        self.projection = nn.Conv2d(
            3, embed_dims, patch_size, stride=patch_size, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, 3, H, W) -> (B, C, H/p, W/p) -> (B, N, C)
        return self.projection(x).flatten(2).transpose(1, 2)


@MODELS.register_module()
class VisionTransformer(nn.Module):
    """CLIP vision transformer, accepting mmpretrain's config fields.

    Args:
        arch (str | dict): ``'b'``, ``'l'`` or a dict with ``embed_dims``,
            ``num_layers``, ``num_heads`` and ``feedforward_channels``.
        img_size (int): Input resolution. Defaults to 224.
        patch_size (int): Patch size. Defaults to 14.
        pre_norm (bool): Must be True (CLIP normalises the embeddings).
        final_norm (bool): Must be False: LLaVA reads hidden states that
            never pass through a final norm.
        norm_cfg (dict): ``dict(type='LN', eps=...)``.
        layer_cfgs (dict): ``dict(act_cfg=dict(type='QuickGELU'))``.
        out_type (str): Must be ``'raw'`` (all tokens, CLS first).
        select_layer (int, optional): Which hidden state the tower returns,
            as LLaVA's ``mm_vision_select_layer`` counts them: index into
            ``(embedding, block 1, ..., block L)``, negative from the end
            (``-2``: the penultimate block). Only the blocks up to it are
            built and run. Defaults to None: all blocks.
        pretrained (str, optional): Path or URL of a vision checkpoint. It is
            read by the checkpoint loader, not at build time.
        init_cfg (dict, optional): Accepted for config compatibility; use
            :meth:`init_weights` / a checkpoint instead.
    """

    arch_zoo = {
        'b': dict(embed_dims=768, num_layers=12, num_heads=12,
                  feedforward_channels=3072),
        'l': dict(embed_dims=1024, num_layers=24, num_heads=16,
                  feedforward_channels=4096),
    }

    def __init__(self,
                 arch: Union[str, dict] = 'l',
                 img_size: int = 224,
                 patch_size: int = 14,
                 pre_norm: bool = True,
                 final_norm: bool = False,
                 norm_cfg: Optional[dict] = None,
                 layer_cfgs: Optional[dict] = None,
                 out_type: str = 'raw',
                 select_layer: Optional[int] = None,
                 pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__()
        if isinstance(arch, str):
            if arch not in self.arch_zoo:
                raise ValueError(f'Unknown ViT arch {arch!r}; use one of '
                                 f'{sorted(self.arch_zoo)} or a dict.')
            arch = self.arch_zoo[arch]
        if not pre_norm or final_norm or out_type != 'raw':
            raise ValueError(
                'The LLaVA vision tower is a CLIP ViT: it needs '
                "pre_norm=True, final_norm=False and out_type='raw' (got "
                f'pre_norm={pre_norm}, final_norm={final_norm}, '
                f'out_type={out_type!r}).')
        norm_cfg = norm_cfg or dict(type='LN', eps=1e-5)
        act = ((layer_cfgs or {}).get('act_cfg') or {}).get('type',
                                                              'QuickGELU')
        act = act.split('.')[-1]  # 'mmpretrain.QuickGELU' -> 'QuickGELU'
        if act not in _ACTIVATIONS:
            raise ValueError(f'Unsupported activation {act!r}; use one of '
                             f'{sorted(_ACTIVATIONS)}.')
        if img_size % patch_size:
            raise ValueError(f'img_size={img_size} is not a multiple of '
                             f'patch_size={patch_size}.')

        self.embed_dims = C = arch['embed_dims']
        self.num_layers = arch['num_layers']
        self.img_size = img_size
        self.patch_size = patch_size
        self.pretrained = pretrained
        self.num_patches = (img_size // patch_size)**2
        n_build = self.blocks_for(select_layer)

        self.cls_token = nn.Parameter(torch.zeros(1, 1, C))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + self.num_patches, C))
        self.patch_embed = PatchEmbed(C, patch_size)
        self.pre_norm = nn.LayerNorm(C, eps=norm_cfg.get('eps', 1e-5))
        self.layers = nn.ModuleList([
            TransformerEncoderLayer(C, arch['num_heads'],
                                    arch['feedforward_channels'],
                                    norm_cfg.get('eps', 1e-5), act)
            for _ in range(n_build)
        ])

    def blocks_for(self, select_layer: Optional[int]) -> int:
        """How many blocks produce the hidden state ``select_layer``.

        Args:
            select_layer (int, optional): See the class docstring.

        Returns:
            int: The number of blocks to build and run.
        """
        if select_layer is None:
            return self.num_layers
        # The hidden states are the embedding, then one per block.
        n = select_layer if select_layer >= 0 \
            else self.num_layers + 1 + select_layer
        if not 0 <= n <= self.num_layers:
            raise ValueError(
                f'mm_vision_select_layer={select_layer} is out of range for '
                f'a {self.num_layers}-layer vision tower.')
        return n

    def init_weights(self) -> None:
        """Random init for training from scratch (CLIP-like scales)."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
        nn.init.normal_(self.cls_token, std=self.embed_dims**-0.5)
        nn.init.normal_(self.pos_embed, std=0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden state after the built blocks.

        Args:
            x (torch.Tensor): Normalised images, (B, 3, H, W).

        Returns:
            torch.Tensor: (B, 1 + N, C), CLS token first. With zero blocks
            built it is the pre-normed embedding (``hidden_states[0]`` in
            transformers' CLIP).
        """
        if x.shape[-2:] != (self.img_size, self.img_size):
            raise ValueError(
                f'The vision tower expects {self.img_size}x{self.img_size} '
                f'images, got {tuple(x.shape[-2:])}. Check the test '
                'pipeline resize/crop size against vision_encoder.img_size.')
        x = self.patch_embed(x)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1) + self.pos_embed
        x = self.pre_norm(x)
        for layer in self.layers:
            x = layer(x)
        return x
