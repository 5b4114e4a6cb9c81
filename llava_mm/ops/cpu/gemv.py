"""A one-pass bf16 matrix-vector kernel for decode steps on CPU.

A decode step multiplies 1-8 token vectors by every weight matrix of the
language model, so its speed is how fast the weights stream from memory.
On AVX512-BF16 CPUs torch's bf16 ``F.linear`` on one token reads the
weights well below the memory's bandwidth (docs/benchmark.md).
``csrc/bf16_gemv.cpp`` reads each
weight once with AVX512-BF16 dot products (float32 sums, rounded to bf16
like torch's).

``pip install`` builds it with the package (``setup.py``, a torch C++
extension ``llava_mm.ops.cpu._bf16_gemv``); without that binary (no
compiler at install time, an editable install in an isolated build, a
torch other than the one it was built against) it is compiled on first use
with torch's C++ extension builder (g++, cached under
``TORCH_EXTENSIONS_DIR``). It is used only on CPUs with the
``avx512_bf16`` flag. :func:`use_bf16_gemv` makes a model's ``nn.Linear``
layers use it for inputs of at most ``MAX_ROWS`` (2) rows: batch-1 decode
steps. Prompt passes and batched decoding keep torch's kernels. Results
equal torch's up to the summation order (a few outputs differ in the last
bit).
"""
import os.path as osp
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from .features import cpu_features

# Above this many rows torch's kernel was as fast (docs/benchmark.md).
MAX_ROWS = 2
_SRC = osp.join(osp.dirname(osp.abspath(__file__)), 'csrc', 'bf16_gemv.cpp')
_ext = None


def cpu_has_avx512_bf16() -> bool:
    """Whether this CPU has the AVX512-BF16 instructions (Linux)."""
    return cpu_features()['avx512_bf16']


def prebuilt_kernel():
    """The kernel built by ``pip install``, or None.

    Returns:
        module | None: ``llava_mm.ops.cpu._bf16_gemv``; None when it was not
        built or does not load with this torch.
    """
    try:
        from . import _bf16_gemv
    except ImportError:  # not built, or built against another torch
        return None
    return _bf16_gemv


def load_kernel():
    """Import the kernel: the installed binary, else build it (once).

    Returns:
        module: With ``bf16_gemv(x, w) -> y``.

    Raises:
        RuntimeError: When the CPU lacks AVX512-BF16 or the build fails.
    """
    global _ext
    if _ext is None:
        if not cpu_has_avx512_bf16():
            raise RuntimeError(
                'The bf16 gemv kernel needs a CPU with AVX512-BF16 (the '
                '"avx512_bf16" flag of /proc/cpuinfo); this one has none. '
                'Leave it off (torch\'s kernels are used).')
        _ext = prebuilt_kernel()
    if _ext is None:
        from mmengine.logging import print_log
        from torch.utils.cpp_extension import load
        print_log('Loading the bf16 gemv kernel (built with g++ on first '
                  'use, cached under TORCH_EXTENSIONS_DIR).',
                  logger='current')
        flags = ['-O3', '-mavx512f', '-mavx512bf16', '-fopenmp']
        try:
            _ext = load('llava_mm_bf16_gemv', [_SRC], extra_cflags=flags,
                        extra_ldflags=['-fopenmp'])
        except Exception as e:
            raise RuntimeError(
                f'Building the bf16 gemv kernel ({_SRC}) failed: {e}. It '
                'needs g++ and the Python headers; or leave it off.') from e
    return _ext


@torch.library.custom_op('llava_mm::bf16_gemv', mutates_args=())
def _gemv_op(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The kernel as a torch operator, so a compiled graph holds it."""
    return load_kernel().bf16_gemv(x, weight)


@_gemv_op.register_fake
def _(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return x.new_empty((x.shape[0], weight.shape[0]), dtype=torch.float32)


def bf16_gemv(x: torch.Tensor, weight: torch.Tensor,
              bias: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``F.linear(x, weight, bias)`` for bf16 ``x`` of at most 8 rows.

    Args:
        x (torch.Tensor): (..., K) bf16, at most 8 rows in all.
        weight (torch.Tensor): (N, K) bf16, contiguous.
        bias (torch.Tensor, optional): (N, ).

    Returns:
        torch.Tensor: (..., N) bf16.
    """
    x2 = x.reshape(-1, x.shape[-1])  # (rows, K)
    # Eagerly the extension is called directly (no operator dispatch); a
    # graph being compiled gets the registered operator.
    y = _gemv_op(x2, weight) if torch.compiler.is_compiling() else \
        load_kernel().bf16_gemv(x2, weight)  # (rows, N) fp32
    if bias is not None:
        y = y + bias.float()
    return y.to(torch.bfloat16).reshape(*x.shape[:-1], weight.shape[0])


class GemvLinear(nn.Linear):
    """``nn.Linear`` whose short bf16 CPU inputs go through the kernel."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (x.dtype == torch.bfloat16 and self.weight.dtype == torch.bfloat16
                and x.device.type == 'cpu' and not torch.is_grad_enabled()
                and x.numel() // x.shape[-1] <= MAX_ROWS
                and self.weight.is_contiguous()):
            return bf16_gemv(x, self.weight, self.bias)
        return F.linear(x, self.weight, self.bias)


def use_bf16_gemv(model: nn.Module) -> int:
    """Route the decode-step products of a bf16 model through the kernel.

    Every ``nn.Linear`` of ``model`` with bf16 weights becomes a
    :class:`GemvLinear` (same parameters and state-dict keys); the kernel is
    built first, so an unsupported CPU fails here, not mid-generation.

    Args:
        model (nn.Module): E.g. a bf16 :class:`~llava_mm.models.Llava`.

    Returns:
        int: How many layers were switched.
    """
    load_kernel()
    return set_bf16_gemv(model, True)


def set_bf16_gemv(model: nn.Module, on: bool) -> int:
    """Switch a model's bf16 ``nn.Linear`` layers to :class:`GemvLinear`
    (``on``) or every :class:`GemvLinear` back to ``nn.Linear``.

    Args:
        model (nn.Module): The model.
        on (bool): Direction.

    Returns:
        int: How many layers were switched to the kernel.
    """
    n = 0
    for m in model.modules():
        if on and type(m) is nn.Linear and m.weight.dtype == torch.bfloat16:
            m.__class__ = GemvLinear
            n += 1
        elif not on and type(m) is GemvLinear:
            m.__class__ = nn.Linear
    return n
