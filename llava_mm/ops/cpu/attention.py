"""SDPA, except for the decode steps on CPU: plain matmul attention there.

A decode step attends with one query per sequence to the whole KV cache.
On CPU, torch's SDPA (its flash kernel, with or without a mask) reads a
bf16 cache several times more slowly than two matmuls and a softmax do
(docs/benchmark.md has the measurement). So ``'llava_mm_sdpa'``,
registered here with transformers' ``AttentionInterface``, is
transformers' own SDPA attention with one exception: a single-query step
on CPU outside training runs transformers' eager formula (scores in the
model's dtype, softmax in float32). Prompt passes, training and GPUs run
SDPA unchanged, and the masks are SDPA's.
"""
from typing import Optional, Tuple

import torch
from torch import nn
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import (
    repeat_kv,
    sdpa_attention_forward,
)
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

ATTN_IMPLEMENTATION = 'llava_mm_sdpa'


def decode_attention(module: nn.Module, query: torch.Tensor,
                     key: torch.Tensor, value: torch.Tensor,
                     attention_mask: Optional[torch.Tensor],
                     scaling: float) -> torch.Tensor:
    """Attention of single queries, as transformers' eager attention.

    Args:
        module (nn.Module): The attention layer (``num_key_value_groups``).
        query (torch.Tensor): (B, H, 1, D).
        key (torch.Tensor): (B, H_kv, S, D).
        value (torch.Tensor): (B, H_kv, S, D).
        attention_mask (torch.Tensor, optional): SDPA's mask: bool (True:
            attend) or additive float, broadcastable to (B, H, 1, S).
        scaling (float): Score scale.

    Returns:
        torch.Tensor: (B, 1, H, D).
    """
    # The preallocated cache hands out views of a longer buffer; torch's CPU
    # batched matmul copies such strided batches itself, the keys with a
    # slow transposing copy. A plain copy first is cheaper and gives the
    # same result (docs/benchmark.md).
    key = repeat_kv(key, module.num_key_value_groups).contiguous()
    value = repeat_kv(value, module.num_key_value_groups).contiguous()
    scores = torch.matmul(query, key.transpose(2, 3)) * scaling  # (B,H,1,S)
    if attention_mask is not None:
        mask = attention_mask[..., :key.shape[-2]]
        scores = (scores.masked_fill(~mask, float('-inf'))
                  if mask.dtype == torch.bool else scores + mask)
    probs = nn.functional.softmax(scores, dim=-1,
                                  dtype=torch.float32).to(query.dtype)
    return torch.matmul(probs, value).transpose(1, 2).contiguous()


def sdpa_with_cpu_decode(module: nn.Module, query: torch.Tensor,
                         key: torch.Tensor, value: torch.Tensor,
                         attention_mask: Optional[torch.Tensor],
                         dropout: float = 0.0,
                         scaling: Optional[float] = None,
                         **kwargs) -> Tuple[torch.Tensor, None]:
    """transformers' attention-function signature; see the module doc."""
    if (query.shape[2] == 1 and query.device.type == 'cpu'
            and not module.training):
        if scaling is None:
            scaling = query.shape[-1]**-0.5
        return decode_attention(module, query, key, value, attention_mask,
                                scaling), None
    return sdpa_attention_forward(module, query, key, value, attention_mask,
                                  dropout=dropout, scaling=scaling, **kwargs)


AttentionInterface.register(ATTN_IMPLEMENTATION, sdpa_with_cpu_decode)
AttentionMaskInterface.register(ATTN_IMPLEMENTATION, sdpa_mask)
