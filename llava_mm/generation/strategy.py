"""How ``generate`` runs on a device: one setting, resolved at load.

``engine`` (an argument of :func:`~llava_mm.apis.init_model` and
:func:`~llava_mm.apis.get_model`, or a top-level ``engine`` in a config) is
``'auto'`` (the default), ``'eager'`` (transformers' own path: a
``DynamicCache``, one batched prompt pass, no kernels, nothing compiled) or
a dict naming some of:

- ``cache``: ``'dynamic'`` (transformers' ``DynamicCache``),
  ``'preallocated'`` (:class:`~.kv_cache.PreallocatedCache`: one buffer,
  written in place) or ``'static'`` (transformers' ``StaticCache``, sized in
  steps of :data:`STATIC_CACHE_STEP` positions so that shapes repeat);
- ``compile``: compile the decode step (``torch.compile`` through
  transformers' ``generate``; CUDA graphs on GPUs). Needs
  ``cache='static'``;
- ``prefill``: ``'batched'`` (one pass of the padded batch) or ``'each'``
  (sample by sample into the cache, :func:`~.kv_cache.prefill_each`);
- ``bf16_gemv``, ``fp32_prefill``, ``decode_attention``: the CPU kernels
  of :mod:`llava_mm.ops.cpu`.

Keys left out, or set to ``'auto'``, are chosen from the device, the dtype,
the quantization and the CPU's features (the measurements behind each
choice are in docs/benchmark.md):

- CUDA: a static cache with the decode step compiled, except for nf4
  layers (bitsandbytes, not compilable) and models spread by
  ``device_map``, which take a ``DynamicCache``; batched prompt passes; no
  CPU kernels.
- CPU: the preallocated cache; the per-sample prompt pass except on AMX
  CPUs; the bf16 gemv kernel where AVX512-BF16 exists; fp32 prompt passes
  of bf16 models where the CPU has no native bf16 matmul; the decode
  attention everywhere; nothing compiled.
"""
import dataclasses
from typing import Dict, Optional, Union

import torch

from llava_mm.ops.cpu.features import cpu_features

CACHES = ('dynamic', 'preallocated', 'static')
PREFILLS = ('batched', 'each')
KERNELS = ('bf16_gemv', 'fp32_prefill', 'decode_attention')
KEYS = ('cache', 'compile', 'prefill') + KERNELS
# Static caches are sized up to a multiple of this, so a compiled decode
# step is reused across prompts of different lengths.
STATIC_CACHE_STEP = 256
Setting = Union[str, Dict[str, object], None]


@dataclasses.dataclass(frozen=True)
class GenerationStrategy:
    """A resolved ``engine`` setting (every choice made).

    Args:
        cache (str): One of :data:`CACHES`.
        compile (bool): Compile the decode step.
        prefill (str): One of :data:`PREFILLS`.
        bf16_gemv (bool): The AVX512-BF16 decode kernel.
        fp32_prefill (bool): fp32 prompt passes of a bf16 model on CPU.
        decode_attention (bool): The ``'llava_mm_sdpa'`` attention.
    """

    cache: str = 'dynamic'
    compile: bool = False
    prefill: str = 'batched'
    bf16_gemv: bool = False
    fp32_prefill: bool = False
    decode_attention: bool = False

    def as_dict(self) -> dict:
        """The choices as a plain dict (logs, benchmarks)."""
        return dataclasses.asdict(self)


def check_setting(setting: Setting) -> None:
    """Raise a one-line error for a malformed ``engine`` value.

    Args:
        setting (str | dict | None): The value to check.
    """
    if setting is None or setting in ('auto', 'eager'):
        return
    if not isinstance(setting, dict):
        raise ValueError(f"engine must be 'auto', 'eager' or a dict with "
                         f'keys from {KEYS}; got {setting!r}.')
    allowed = dict(cache=CACHES, prefill=PREFILLS)
    for key, value in setting.items():
        if key not in KEYS:
            raise ValueError(f'engine: unknown key {key!r}; use some of '
                             f'{KEYS}.')
        ok = allowed.get(key, (True, False))
        if value != 'auto' and value not in ok:
            raise ValueError(f"engine[{key!r}] must be 'auto' or one of "
                             f'{ok}; got {value!r}.')
    if setting.get('compile') is True and setting.get(
            'cache', 'static') not in ('static', 'auto'):
        raise ValueError("engine: compile=True needs cache='static' (a "
                         'compiled step needs fixed shapes); got '
                         f"cache={setting['cache']!r}.")


def auto_strategy(device_type: str, dtype: torch.dtype,
                  quantization: Optional[str] = None,
                  dispatched: bool = False,
                  features: Optional[dict] = None) -> GenerationStrategy:
    """What ``'auto'`` chooses (see the module docstring).

    Args:
        device_type (str): ``'cpu'``, ``'cuda'``, ...
        dtype (torch.dtype): The language model's dtype.
        quantization (str, optional): ``'int8'``/``'nf4'`` or None.
        dispatched (bool): The model is spread by ``device_map``.
        features (dict, optional): CPU features; defaults to
            :func:`~llava_mm.ops.cpu.features.cpu_features`.

    Returns:
        GenerationStrategy: The choices.
    """
    if device_type != 'cpu':
        compiled = (device_type == 'cuda' and quantization != 'nf4'
                    and not dispatched)
        return GenerationStrategy(
            cache='static' if compiled else 'dynamic', compile=compiled)
    features = features or cpu_features()
    bf16 = dtype == torch.bfloat16
    native_bf16 = features['avx512_bf16'] or features['amx_bf16']
    return GenerationStrategy(
        cache='preallocated', compile=False,
        prefill='batched' if features['amx_bf16'] else 'each',
        bf16_gemv=bf16 and features['avx512_bf16'],
        fp32_prefill=bf16 and not native_bf16,
        decode_attention=True)


def resolve_strategy(setting: Setting, device_type: str,
                     dtype: torch.dtype,
                     quantization: Optional[str] = None,
                     dispatched: bool = False,
                     features: Optional[dict] = None) -> GenerationStrategy:
    """Resolve an ``engine`` setting for a loaded model.

    Args:
        setting (str | dict | None): See the module docstring; None is
            ``'auto'``.
        device_type (str): Where the language model runs.
        dtype (torch.dtype): The language model's dtype.
        quantization (str, optional): ``'int8'``/``'nf4'`` or None.
        dispatched (bool): The model is spread by ``device_map``.
        features (dict, optional): CPU features (tests pass other CPUs').

    Returns:
        GenerationStrategy: The choices.
    """
    check_setting(setting)
    if setting == 'eager':
        return GenerationStrategy()
    auto = auto_strategy(device_type, dtype, quantization, dispatched,
                         features)
    if setting in (None, 'auto'):
        return auto
    chosen = {k: getattr(auto, k) if setting.get(k, 'auto') == 'auto'
              else setting[k] for k in KEYS}
    # A compiled step needs the static cache (check_setting refused the two
    # asked for together otherwise); whichever of them was left to 'auto'
    # follows the one that was set.
    cache_auto = setting.get('cache', 'auto') == 'auto'
    if chosen['compile'] and chosen['cache'] != 'static':
        if cache_auto:
            chosen['cache'] = 'static'
        else:  # a growing or preallocated cache asked for: run eagerly
            chosen['compile'] = False
    elif not chosen['compile'] and cache_auto and auto.cache == 'static':
        # 'auto' chose the static cache for the compiled step; run eagerly,
        # transformers' growing cache is the faster one.
        chosen['cache'] = 'dynamic'
    if device_type != 'cpu':  # the CPU kernels do nothing elsewhere
        chosen.update({k: False for k in KERNELS})
    return GenerationStrategy(**chosen)
