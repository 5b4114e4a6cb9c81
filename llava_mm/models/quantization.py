"""Weight-only low-bit language models, quantized while the file is read.

``quantization='int8'`` or ``'nf4'`` (argument of ``init_model``/
``get_model``, or ``model.quantization`` in a config) replaces every
``nn.Linear`` inside the language model's decoder layers by a low-bit one.
The embeddings, ``lm_head``, the vision tower and the projector keep the
loaded dtype (as transformers' bitsandbytes integration keeps ``lm_head``).

- ``'int8'``: torchao's ``Int8WeightOnlyConfig`` (symmetric int8, one scale
  per output row); on CPU its products go through torch's
  ``_weight_int8pack_mm`` kernel (see :class:`Int8Linear`).
- ``'nf4'``: bitsandbytes' ``Linear4bit`` (NF4 in blocks of 64 with double
  quantization, the setting of LLaVA's ``--load-4bit``).

The loader (:func:`quantize_while_loading`) takes each decoder weight from
the memory-mapped checkpoint, quantizes it on the target device and drops
the file's pages from the process, so the full-precision language model is
never held whole. docs/benchmark.md compares the libraries and measures it.
"""
import os
import re
from typing import Callable, Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from torch import nn

from llava_mm.utils.memory import drop_pages, file_mappings, release_heap

QUANT_TYPES = ('int8', 'nf4')
# Decoder-layer Linear modules of the LM (LLaMA: q/k/v/o, gate/up/down).
_LM_LAYERS = re.compile(r'^model\.lang_encoder\.model\.layers\.\d+\.')
# Rows up to which Int8Linear uses torch's int8 CPU kernel; past them the
# dequantize-then-matmul path wins (docs/benchmark.md, "Low-bit and offload").
MAX_ROWS = 4
_INSTALL = "pip install 'llava_mm[quant]' (bitsandbytes, torchao)"


def parse_quantization(
        quantization: Union[str, dict, None]) -> Optional[dict]:
    """Check a ``quantization`` argument and normalise it to a dict.

    Args:
        quantization (str | dict | None): ``'int8'``, ``'nf4'``, ``None``/
            ``'none'``, or ``dict(type='int8'|'nf4')``.

    Returns:
        dict | None: ``{'type': ...}``, or None for no quantization.
    """
    if quantization is None or quantization == 'none':
        return None
    spec = dict(quantization) if isinstance(quantization, dict) else \
        dict(type=quantization)
    if spec.get('type') not in QUANT_TYPES or set(spec) != {'type'}:
        raise ValueError(
            f'quantization={quantization!r} is not supported: use one of '
            f'{QUANT_TYPES} (or None), e.g. get_model(..., '
            "quantization='int8') or model.quantization='nf4' in a config.")
    module = 'torchao' if spec['type'] == 'int8' else 'bitsandbytes'
    try:
        __import__(module)
    except ImportError as e:
        raise ImportError(f'quantization={spec["type"]!r} needs {module}: '
                          f'{_INSTALL}.') from e
    return spec


def quantized_module_names(model: nn.Module) -> List[str]:
    """Names of the Linear modules of the LM's decoder layers.

    Args:
        model (nn.Module): A :class:`~llava_mm.models.Llava` (may be on the
            meta device).

    Returns:
        list[str]: Module names, e.g.
        ``'model.lang_encoder.model.layers.0.self_attn.q_proj'``.
    """
    return [n for n, m in model.named_modules()
            if isinstance(m, nn.Linear) and _LM_LAYERS.match(n + '.')]


class Int8Linear(nn.Linear):
    """``nn.Linear`` with a torchao int8 weight-only weight.

    For CPU inputs of at most ``MAX_ROWS`` rows (decode steps) the product
    uses torch's ``_weight_int8pack_mm``, which reads the int8 weight once;
    longer inputs (prompt passes) and other devices use torchao's own
    ``F.linear`` (the weight dequantized, then one matmul).
    """

    _scale: Optional[torch.Tensor] = None  # per-row scales in x's dtype

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight
        if (x.device.type != 'cpu' or x.numel() // x.shape[-1] > MAX_ROWS
                or x.dtype not in (torch.bfloat16, torch.float32)):
            return F.linear(x, w, self.bias)
        if self._scale is None or self._scale.dtype != x.dtype:
            self._scale = w.scale.reshape(-1).to(x.dtype)
        y = torch.ops.aten._weight_int8pack_mm(
            x.reshape(-1, x.shape[-1]), w.qdata, self._scale)
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*x.shape[:-1], y.shape[-1])


def quantize_linear(weight: torch.Tensor, bias: Optional[torch.Tensor],
                    quant_type: str, device: Union[str, torch.device],
                    dtype: torch.dtype) -> nn.Module:
    """A low-bit Linear from full-precision tensors.

    Args:
        weight (torch.Tensor): (out, in) weight, any device and float dtype.
        bias (torch.Tensor, optional): (out, ) bias.
        quant_type (str): ``'int8'`` or ``'nf4'``.
        device (str | torch.device): Where the module lives.
        dtype (torch.dtype): Compute dtype (activations, bias).

    Returns:
        nn.Module: ``Int8Linear`` (torchao) or ``bnb.nn.Linear4bit``.
    """
    out_f, in_f = weight.shape
    w = weight.to(device=device, dtype=dtype)
    b = None if bias is None else nn.Parameter(
        bias.to(device=device, dtype=dtype), requires_grad=False)
    if quant_type == 'int8':
        from torchao.quantization import Int8WeightOnlyConfig, quantize_
        with torch.device('meta'):
            lin = Int8Linear(in_f, out_f, bias=bias is not None)
        lin.weight = nn.Parameter(w, requires_grad=False)
        lin.bias = b
        quantize_(lin, Int8WeightOnlyConfig(), device=device)
        return lin
    import bitsandbytes as bnb
    lin = bnb.nn.Linear4bit(in_f, out_f, bias=bias is not None,
                            compute_dtype=dtype, quant_type='nf4',
                            device='meta')
    # Moving the parameter to a device is what quantizes it.
    lin.weight = bnb.nn.Params4bit(w, requires_grad=False,
                                   quant_type='nf4', module=lin).to(device)
    lin.bias = b
    return lin


def quantize_while_loading(
        model: nn.Module, state: Dict[str, torch.Tensor], spec: dict,
        dtype: Optional[torch.dtype], device: Union[str, torch.device, None],
        path: str,
        check: Optional[Callable[[dict], dict]] = None) -> None:
    """Quantize the LM's decoder Linear layers from ``state``, one by one.

    Each weight (and bias) is popped from ``state``, checked, cast,
    quantized on ``device`` and set into ``model`` in place of the (meta)
    Linear; the checkpoint pages it was read from and the temporaries are
    then released.

    Args:
        model (nn.Module): The Llava model, usually on the meta device.
        state (dict): The checkpoint's tensors (checked against the model);
            the quantized ones are removed from it.
        spec (dict): From :func:`parse_quantization`.
        dtype (torch.dtype, optional): Compute dtype; None keeps each
            tensor's own.
        device (str | torch.device, optional): Target device (default CPU).
        path (str): The checkpoint file (its mapping is released).
        check (callable, optional): Maps ``{key: tensor}`` to the tensors
            to use (the loader's cast and NaN/inf check).
    """
    ranges = file_mappings(path) if os.name == 'posix' else []
    device = torch.device(device or 'cpu')
    for name in quantized_module_names(model):
        part = {k: state.pop(k) for k in (name + '.weight', name + '.bias')
                if k in state}
        sources = list(part.values())
        if check is not None:
            part = check(part)
        weight = part[name + '.weight']
        lin = quantize_linear(weight, part.get(name + '.bias'),
                              spec['type'], device, dtype or weight.dtype)
        model.set_submodule(name, lin)
        for t in sources:
            drop_pages(t, ranges)
        del part, sources, weight, lin
        release_heap()
