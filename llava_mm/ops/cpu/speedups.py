"""One setting for the CPU speed-ups, resolved per CPU and applied at load.

``cpu_speedups`` (a field of the ``Llava`` config and an argument of
:func:`~llava_mm.apis.init_model` / :func:`~llava_mm.apis.get_model`) is
``'auto'`` (default), ``'on'``, ``'off'`` or a dict naming some of:

- ``'bf16_gemv'``: decode steps of one or two rows through the AVX512-BF16
  kernel (:mod:`llava_mm.ops.cpu.gemv`); bf16 models only.
- ``'fp32_prefill'``: the prompt/image pass of a bf16 model with fp32
  kernels (:mod:`llava_mm.ops.cpu.fp32_prefill`), for CPUs without native
  bf16 matmuls.
- ``'decode_attention'``: the ``'llava_mm_sdpa'`` attention
  (:mod:`llava_mm.ops.cpu.attention`) instead of transformers' SDPA.
- ``'prefill_each'``: the per-sample prompt pass of ``Llava.generate``
  (:func:`~llava_mm.generation.kv_cache.prefill_each`).

Each key maps to True, False or ``'auto'``; keys left out are ``'auto'``.
``'auto'`` chooses from the CPU's features (:func:`cpu_features`) what was
fastest there (the measurements are in docs/benchmark.md): the kernel
wherever AVX512-BF16 exists, fp32 prompt passes only where neither
AVX512-BF16 nor AMX does, the decode attention on every CPU, and the
per-sample prompt pass everywhere but on AMX CPUs (whose batched bf16
prompt pass is as fast). ``'on'`` turns on every one that can run here;
``'off'`` is transformers' behaviour. Nothing changes on GPUs.
"""
import functools
import logging
import os
import shutil
from typing import Dict, Optional, Union

import torch
from mmengine.logging import print_log
from torch import nn

from .attention import ATTN_IMPLEMENTATION

SPEEDUPS = ('bf16_gemv', 'fp32_prefill', 'decode_attention', 'prefill_each')
Setting = Union[str, Dict[str, Union[bool, str]], None]


@functools.lru_cache(maxsize=None)
def _cpu_flags() -> frozenset:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('flags'):
                    return frozenset(line.split(':', 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_features() -> dict:
    """What the CPU offers for bf16 work (Linux ``/proc/cpuinfo`` flags).

    Returns:
        dict: ``amx_bf16``, ``avx512_bf16``, ``avx2`` (bools), ``threads``
        (torch's intra-op threads) and ``capability`` (torch's).
    """
    flags = _cpu_flags()
    return dict(amx_bf16='amx_bf16' in flags,
                avx512_bf16='avx512_bf16' in flags,
                avx2='avx2' in flags, threads=torch.get_num_threads(),
                capability=torch.backends.cpu.get_cpu_capability())


def check_setting(setting: Setting) -> None:
    """Raise a clear error for a malformed ``cpu_speedups`` value.

    Args:
        setting (str | dict | None): The value to check.
    """
    if setting is None or setting in ('auto', 'on', 'off'):
        return
    if not isinstance(setting, dict):
        raise ValueError(f"cpu_speedups must be 'auto', 'on', 'off' or a "
                         f'dict with keys from {SPEEDUPS}; got {setting!r}.')
    for key, value in setting.items():
        if key not in SPEEDUPS:
            raise ValueError(f'cpu_speedups: unknown key {key!r}; use some '
                             f'of {SPEEDUPS}.')
        if value not in (True, False, 'auto'):
            raise ValueError(f'cpu_speedups[{key!r}] must be True, False '
                             f"or 'auto'; got {value!r}.")


def auto_choice(features: dict) -> Dict[str, bool]:
    """What ``'auto'`` turns on for a CPU (see the module docstring).

    Args:
        features (dict): From :func:`cpu_features`.

    Returns:
        dict: Speed-up name -> on.
    """
    native_bf16 = features['avx512_bf16'] or features['amx_bf16']
    return dict(bf16_gemv=features['avx512_bf16'],
                fp32_prefill=not native_bf16,
                decode_attention=True,
                prefill_each=not features['amx_bf16'])


def resolve(setting: Setting, features: Optional[dict] = None
            ) -> Dict[str, bool]:
    """The speed-ups wanted for ``setting`` on this CPU (before checking
    that the model can use them).

    Args:
        setting (str | dict | None): See the module docstring; None is
            ``'auto'``.
        features (dict, optional): Defaults to :func:`cpu_features`.

    Returns:
        dict: Speed-up name -> on.
    """
    check_setting(setting)
    auto = auto_choice(features or cpu_features())
    if setting in (None, 'auto'):
        return auto
    if setting in ('on', 'off'):
        return {k: setting == 'on' for k in SPEEDUPS}
    return {k: auto[k] if setting.get(k, 'auto') == 'auto' else setting[k]
            for k in SPEEDUPS}


def _compiler() -> Optional[str]:
    return shutil.which(os.environ.get('CXX', 'c++'))


def _gemv_ready(features: dict) -> bool:
    """Whether the kernel can be used here; logs why not."""
    from .gemv import load_kernel, prebuilt_kernel
    if not features['avx512_bf16']:
        print_log('cpu_speedups: the bf16 gemv kernel needs AVX512-BF16; '
                  "this CPU has none, torch's kernels are used.",
                  logger='current', level=logging.INFO)
        return False
    if prebuilt_kernel() is None and _compiler() is None:
        print_log('cpu_speedups: no C++ compiler (g++) found to build the '
                  "bf16 gemv kernel; torch's kernels are used.",
                  logger='current', level=logging.WARNING)
        return False
    try:
        load_kernel()
    except RuntimeError as e:
        print_log(f"cpu_speedups: {e} torch's kernels are used.",
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


def apply_cpu_speedups(model: nn.Module, setting: Setting = 'auto',
                       features: Optional[dict] = None) -> Dict[str, bool]:
    """Turn the CPU speed-ups of a loaded ``Llava`` on or off.

    Called by :func:`~llava_mm.apis.init_model` after the weights are
    loaded and the model is on its device; call it again after changing
    the model's dtype or device. Speed-ups that cannot run (a GPU, weights
    that are not bf16, no AVX512-BF16 or no C++ compiler for the kernel)
    stay off, with a log line saying why when they were asked for.

    Args:
        model (Llava): The model.
        setting (str | dict | None): See the module docstring.
        features (dict, optional): Defaults to :func:`cpu_features`.

    Returns:
        dict: What is on now (also kept as ``model.cpu_speedups_applied``).
    """
    from .fp32_prefill import use_fp32_prefill
    from .gemv import set_bf16_gemv
    features = features or cpu_features()
    want = resolve(setting, features)
    lm = model.lang_encoder
    on_cpu = next(model.parameters()).device.type == 'cpu'
    bf16 = lm.dtype == torch.bfloat16
    applied = dict(
        bf16_gemv=want['bf16_gemv'] and on_cpu and bf16
        and _gemv_ready(features),
        fp32_prefill=want['fp32_prefill'] and on_cpu and bf16,
        decode_attention=_set_attention(lm, want['decode_attention']
                                        and on_cpu),
        prefill_each=want['prefill_each'] and on_cpu)
    set_bf16_gemv(model, applied['bf16_gemv'])
    for handle in getattr(model, '_fp32_prefill_handles', []):
        handle.remove()
    model._fp32_prefill_handles = (use_fp32_prefill(model)
                                   if applied['fp32_prefill'] else [])
    model.cpu_prefill_each = applied['prefill_each']
    model.cpu_speedups_applied = applied
    return applied
