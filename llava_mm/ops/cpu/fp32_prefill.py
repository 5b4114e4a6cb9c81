"""bf16 weights on CPUs without bf16 matrix units: prompt pass in fp32.

On x86 CPUs without AVX512-BF16/AMX, torch's bf16 matmul and attention
fall back to kernels much slower than fp32 for a prompt-sized matmul
(docs/benchmark.md), while a 7B model only fits in 24 GiB in bf16. For the
prompt/image pass (many tokens per matmul) it is faster to run each block
with fp32 activations: a ``Linear`` up-casts its weight just for its own
call (so at most one fp32 matrix exists at a time), the block's output is
rounded back to bf16 and so are the keys/values it caches. The arithmetic
is that of the bf16 model (bf16 inputs and weights, fp32 accumulation, bf16
block outputs); only the summation order of the kernels differs.
Single-token decode steps keep the native bf16 kernels (memory-bound: the
up-cast would cost more than it saves).
"""
from typing import List

import torch
from torch import nn
from torch.utils._pytree import tree_map

from llava_mm.utils.hf_compat import CACHE_KWARG


def native_bf16_matmul() -> bool:
    """Whether this CPU runs bf16 matmuls with native kernels (oneDNN)."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def _cast(dtype: torch.dtype, src: torch.dtype):
    def fn(t):
        if isinstance(t, torch.Tensor) and t.dtype == src:
            return t.to(dtype)
        return t
    return fn


def _swap(params, fn) -> list:
    saved = [(p, p.data) for p in params]
    for p, data in saved:
        p.data = fn(data)
    return saved


def _restore(saved: list) -> None:
    for p, data in saved:
        p.data = data


class _Fp32Block:
    """Hooks running one block with fp32 activations when its input is long.

    The block's small parameters (norms, biases) are up-cast for the whole
    block; ``Linear`` weights are up-cast by :func:`_linear_pre` per call.
    """

    def __init__(self, min_tokens: int) -> None:
        self.min_tokens = min_tokens
        self.saved = None

    def pre(self, module: nn.Module, args: tuple, kwargs: dict):
        x = args[0] if args else kwargs.get('hidden_states')
        if (not isinstance(x, torch.Tensor) or x.dtype != torch.bfloat16
                or x.dim() < 2 or x.shape[-2] < self.min_tokens):
            return None
        linear = {id(p) for m in module.modules()
                  if isinstance(m, nn.Linear) for p in m.parameters()}
        self.saved = _swap([p for p in module.parameters()
                            if id(p) not in linear], lambda d: d.float())
        up = _cast(torch.float32, torch.bfloat16)
        return tree_map(up, args), tree_map(up, kwargs)

    def post(self, module: nn.Module, args: tuple, kwargs: dict, output):
        if self.saved is None:
            return None
        _restore(self.saved)
        self.saved = None
        cache = kwargs.get(CACHE_KWARG)
        attn = getattr(module, 'self_attn', None)
        if cache is not None and attn is not None:
            # Keys/values computed in fp32 are stored as the bf16 model
            # would (llava_mm's PreallocatedCache already stores bf16).
            layer = cache.layers[attn.layer_idx]
            if layer.keys.dtype == torch.float32:
                layer.keys = layer.keys.to(torch.bfloat16)
                layer.values = layer.values.to(torch.bfloat16)
        return tree_map(_cast(torch.bfloat16, torch.float32), output)


def _linear_pre(module: nn.Linear, args: tuple) -> None:
    if args[0].dtype == torch.float32 and \
            module.weight.dtype == torch.bfloat16:
        module._bf16_saved = _swap(module.parameters(), lambda d: d.float())


def _linear_post(module: nn.Linear, args: tuple, output) -> None:
    saved = module.__dict__.pop('_bf16_saved', None)
    if saved is not None:
        _restore(saved)


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
        for m in block.modules():
            if isinstance(m, nn.Linear):
                handles.append(m.register_forward_pre_hook(_linear_pre))
                handles.append(m.register_forward_hook(_linear_post))
    return handles
