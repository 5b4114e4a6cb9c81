"""bf16 weights on CPUs without bf16 matrix units: prompt pass in fp32.

On x86 CPUs without AVX512-BF16/AMX, torch's bf16 matmul and attention
fall back to slow kernels (here ~6x slower than fp32 for a prompt-sized
matmul), while a 7B model only fits in 24 GiB in bf16. For the
prompt/image pass (many tokens per matmul) it is faster to up-cast one
block's weights at a time, run the block with fp32 kernels and round its
output back to bf16; the copy is freed after the block. The arithmetic is
that of the bf16 model (bf16 inputs and weights, fp32 accumulation, bf16
outputs); only the summation order of the kernels differs. Single-token
decode steps keep the native bf16 kernels (they are memory-bound and the
up-cast would cost more than it saves).
"""
from typing import List

import torch
from torch import nn
from torch.utils._pytree import tree_map


def native_bf16_matmul() -> bool:
    """Whether this CPU runs bf16 matmuls with native kernels (oneDNN)."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def _cast(dtype: torch.dtype, src: torch.dtype):
    def fn(t):
        if isinstance(t, torch.Tensor) and t.dtype == src:
            return t.to(dtype)
        return t
    return fn


class _Fp32Block:
    """Pre/post hooks running one block in fp32 when its input is long."""

    def __init__(self, min_tokens: int) -> None:
        self.min_tokens = min_tokens
        self.saved = None

    def pre(self, module: nn.Module, args: tuple, kwargs: dict):
        x = args[0] if args else kwargs.get('hidden_states')
        if (not isinstance(x, torch.Tensor) or x.dtype != torch.bfloat16
                or x.dim() < 2 or x.shape[-2] < self.min_tokens):
            return None
        self.saved = [(p, p.data) for p in module.parameters()]
        for p, data in self.saved:
            p.data = data.float()
        up = _cast(torch.float32, torch.bfloat16)
        return tree_map(up, args), tree_map(up, kwargs)

    def post(self, module: nn.Module, args: tuple, kwargs: dict, output):
        if self.saved is None:
            return None
        for p, data in self.saved:
            p.data = data
        self.saved = None
        cache = kwargs.get('past_key_values')
        attn = getattr(module, 'self_attn', None)
        if cache is not None and attn is not None:
            # Keys/values were computed in fp32: store them as the bf16
            # model would.
            layer = cache.layers[attn.layer_idx]
            layer.keys = layer.keys.to(torch.bfloat16)
            layer.values = layer.values.to(torch.bfloat16)
        return tree_map(_cast(torch.bfloat16, torch.float32), output)


def use_fp32_prefill(model: nn.Module, min_tokens: int = 32) -> List:
    """Run the long-input passes of a bf16 LLaVA with fp32 kernels.

    Applies to the vision blocks, the projector and the decoder layers.

    Args:
        model (Llava): A model with bf16 weights.
        min_tokens (int): Inputs with at least this many positions use fp32
            kernels; shorter ones (decode steps) keep bf16 kernels.

    Returns:
        list: The hook handles (``handle.remove()`` undoes it).
    """
    blocks = list(model.model.vision_tower.layers) + [model.projector] + \
        list(model.lang_encoder.model.layers)
    handles = []
    for block in blocks:
        hook = _Fp32Block(min_tokens)
        handles.append(block.register_forward_pre_hook(hook.pre,
                                                       with_kwargs=True))
        handles.append(block.register_forward_hook(hook.post,
                                                   with_kwargs=True))
    return handles
