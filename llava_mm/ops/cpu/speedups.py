"""Switch the CPU kernels of a loaded ``Llava`` on or off.

Which kernels to use is decided by the generation strategy
(:mod:`llava_mm.generation.strategy`); this module only applies a choice,
and keeps off what cannot run here (a GPU, weights that are not bf16, no
AVX512-BF16 or no C++ compiler for the kernel), with a log line saying why.

- ``bf16_gemv``: decode steps of one or two rows through the AVX512-BF16
  kernel (:mod:`llava_mm.ops.cpu.gemv`); bf16 models only.
- ``fp32_prefill``: the prompt/image pass of a bf16 model with fp32
  kernels (:mod:`llava_mm.ops.cpu.fp32_prefill`).
- ``decode_attention``: the ``'llava_mm_sdpa'`` attention
  (:mod:`llava_mm.ops.cpu.attention`) instead of transformers' SDPA.
"""
import logging
import os
import shutil
from typing import Dict, Optional

import torch
from mmengine.logging import print_log
from torch import nn

from .attention import ATTN_IMPLEMENTATION
from .features import cpu_features
from .fp32_prefill import use_fp32_prefill
from .gemv import load_kernel, set_bf16_gemv


def _compiler() -> Optional[str]:
    return shutil.which(os.environ.get('CXX', 'c++'))


def _gemv_ready(features: dict) -> bool:
    """Whether the kernel can be used here; logs why not."""
    if not features['avx512_bf16']:
        print_log('bf16_gemv: the kernel needs AVX512-BF16; this CPU has '
                  "none, torch's kernels are used.", logger='current',
                  level=logging.INFO)
        return False
    if _compiler() is None:
        print_log('bf16_gemv: no C++ compiler (g++) found to build the '
                  "kernel; torch's kernels are used.", logger='current',
                  level=logging.WARNING)
        return False
    try:
        load_kernel()
    except RuntimeError as e:
        print_log(f"bf16_gemv: {e} torch's kernels are used.",
                  logger='current', level=logging.WARNING)
        return False
    return True


def _set_attention(lm: nn.Module, on: bool) -> bool:
    """Switch between SDPA and ``'llava_mm_sdpa'``; others are kept."""
    current = lm.config._attn_implementation
    want = {'sdpa': ATTN_IMPLEMENTATION if on else 'sdpa',
            ATTN_IMPLEMENTATION: ATTN_IMPLEMENTATION if on else 'sdpa'}
    if current in want and want[current] != current:
        lm.set_attn_implementation(want[current])
    return lm.config._attn_implementation == ATTN_IMPLEMENTATION


def apply_cpu_kernels(model: nn.Module, bf16_gemv: bool = False,
                      fp32_prefill: bool = False,
                      decode_attention: bool = False,
                      features: Optional[dict] = None) -> Dict[str, bool]:
    """Turn the CPU kernels of a loaded ``Llava`` on or off.

    Call it again after changing the model's dtype or device.

    Args:
        model (Llava): The model.
        bf16_gemv (bool): Wanted: the bf16 decode kernel.
        fp32_prefill (bool): Wanted: fp32 prompt passes of a bf16 model.
        decode_attention (bool): Wanted: the ``'llava_mm_sdpa'`` attention.
        features (dict, optional): Defaults to :func:`cpu_features`.

    Returns:
        dict: What is on now.
    """
    features = features or cpu_features()
    lm = model.lang_encoder
    on_cpu = next(model.parameters()).device.type == 'cpu'
    bf16 = lm.dtype == torch.bfloat16
    applied = dict(
        bf16_gemv=bf16_gemv and on_cpu and bf16 and _gemv_ready(features),
        fp32_prefill=fp32_prefill and on_cpu and bf16,
        decode_attention=_set_attention(lm, decode_attention and on_cpu))
    set_bf16_gemv(model, applied['bf16_gemv'])
    for handle in getattr(model, '_fp32_prefill_handles', []):
        handle.remove()
    model._fp32_prefill_handles = (use_fp32_prefill(model)
                                   if applied['fp32_prefill'] else [])
    return applied
