"""The generation engine: runs transformers' ``generate`` for a strategy.

:func:`attach_engine` resolves the ``engine`` setting for a loaded model
(:mod:`.strategy`), applies the CPU kernels it chose and keeps the engine
as ``model.engine``; ``Llava.generate`` hands its prompt embeddings to
:meth:`GenerationEngine.generate`, which picks the cache, the prompt pass
and the compiled decode step and checks the logits.
"""
import dataclasses
from typing import Optional

import torch
from transformers import LogitsProcessorList, StaticCache
from transformers.generation import CompileConfig

from llava_mm.ops.cpu.speedups import apply_cpu_kernels
from llava_mm.utils.hf_compat import CACHE_KWARG

from .kv_cache import PreallocatedCache, prefill_each
from .logits_check import CheckFiniteLogits
from .strategy import (
    KERNELS,
    STATIC_CACHE_STEP,
    GenerationStrategy,
    Setting,
    resolve_strategy,
)


def check_context(lm: torch.nn.Module, prompt_len: int,
                  max_new_tokens: int) -> int:
    """Refuse a prompt that cannot be continued within the model's context.

    Args:
        lm (nn.Module): The language model (its config's
            ``max_position_embeddings``).
        prompt_len (int): Positions of the prompt, image included.
        max_new_tokens (int): Tokens to generate.

    Returns:
        int: Positions the cache must hold.
    """
    total = prompt_len + max_new_tokens
    max_pos = getattr(lm.config, 'max_position_embeddings', None)
    if max_pos is not None and total > max_pos:
        raise ValueError(
            f'Prompt ({prompt_len} positions with the image) plus '
            f'max_new_tokens={max_new_tokens} is {total}, more than the '
            f"model's context of {max_pos}. Shorten the prompt or lower "
            'max_new_tokens.')
    return total


def static_cache_len(total: int, max_pos: Optional[int]) -> int:
    """A static cache's size: ``total`` rounded up to
    :data:`~.strategy.STATIC_CACHE_STEP` (at most the model's context).

    Args:
        total (int): Positions needed.
        max_pos (int, optional): The model's context.

    Returns:
        int: Positions to allocate.
    """
    size = -(-total // STATIC_CACHE_STEP) * STATIC_CACHE_STEP
    return min(size, max_pos) if max_pos else size


class GenerationEngine:
    """Runs ``generate`` as a :class:`GenerationStrategy` says.

    Args:
        strategy (GenerationStrategy): The resolved choices.
        device_type (str): Where the language model runs.
    """

    def __init__(self, strategy: GenerationStrategy,
                 device_type: str) -> None:
        self.strategy = strategy
        # What apply_cpu_kernels switched on (attach_engine sets it).
        self.kernels = {k: False for k in KERNELS}
        self.compile_config = None
        if strategy.compile:
            # CUDA graphs where they exist; inductor's default elsewhere.
            self.compile_config = CompileConfig(
                mode='reduce-overhead' if device_type == 'cuda'
                else 'default')
            self.compile_config._compile_all_devices = True

    def __repr__(self) -> str:
        return f'GenerationEngine({self.describe()})'

    def describe(self) -> dict:
        """What runs: the strategy, with the CPU kernels as applied.

        Returns:
            dict: ``cache``, ``compile``, ``prefill`` and each kernel.
        """
        return {**self.strategy.as_dict(), **self.kernels}

    def _expands(self, lm: torch.nn.Module, cfg: dict) -> bool:
        gen = lm.generation_config
        return cfg.get('num_beams', gen.num_beams or 1) > 1 or cfg.get(
            'num_return_sequences', gen.num_return_sequences or 1) > 1

    def add_cache(self, lm: torch.nn.Module, inputs_embeds: torch.Tensor,
                  attention_mask: torch.Tensor, cfg: dict,
                  total: int) -> None:
        """Put the strategy's cache into ``cfg`` (and prefill it).

        Nothing happens when ``cfg`` turns the cache off or brings its own.
        The per-sample prompt pass runs only where it gives the batched
        pass's cache: not when beams or several returns expand the batch
        after the cache is made, and not for one-position prompts.

        Args:
            lm (nn.Module): The language model.
            inputs_embeds (torch.Tensor): (B, L, D) left-padded prompts.
            attention_mask (torch.Tensor): (B, L), 0 on the padding.
            cfg (dict): transformers ``generate`` arguments (modified).
            total (int): Positions the cache holds.
        """
        if not cfg.get('use_cache', True) or {'cache',
                                              'past_key_values'} & cfg.keys():
            return
        kind = self.strategy.cache
        if kind == 'static':
            cfg[CACHE_KWARG] = StaticCache(
                config=lm.config, max_cache_len=static_cache_len(
                    total, getattr(lm.config, 'max_position_embeddings',
                                   None)))
        elif kind == 'preallocated':
            # Filled in place: no per-token copy of the cache (kv_cache.py).
            cfg[CACHE_KWARG] = PreallocatedCache(
                lm.config.num_hidden_layers, total, dtype=lm.dtype)
            if (self.strategy.prefill == 'each' and not self._expands(
                    lm, cfg) and int(attention_mask.sum(1).min()) >= 2):
                prefill_each(lm.get_decoder(), inputs_embeds,
                             attention_mask, cfg[CACHE_KWARG])

    @torch.no_grad()
    def generate(self, lm: torch.nn.Module, inputs_embeds: torch.Tensor,
                 attention_mask: torch.Tensor, cfg: dict) -> torch.Tensor:
        """transformers' ``generate`` from prompt embeddings.

        NaN/+inf logits raise :class:`~.logits_check.NonFiniteLogitsError`
        before any text is returned; without a streamer the check reads
        the device once, after the last step.

        Args:
            lm (nn.Module): The language model.
            inputs_embeds (torch.Tensor): (B, L, D) left-padded prompts.
            attention_mask (torch.Tensor): (B, L), 0 on the padding.
            cfg (dict): transformers ``generate`` arguments.

        Returns:
            torch.Tensor: (B, T) new token ids.
        """
        cfg = dict(cfg)
        total = check_context(lm, inputs_embeds.shape[1],
                              cfg['max_new_tokens'])
        self.add_cache(lm, inputs_embeds, attention_mask, cfg, total)
        if self.compile_config is not None:
            cfg.setdefault('compile_config', self.compile_config)
        else:
            cfg.setdefault('disable_compile', True)
        check = CheckFiniteLogits(deferred=cfg.get('streamer') is None)
        cfg['logits_processor'] = LogitsProcessorList(
            [*(cfg.get('logits_processor') or []), check])
        out = lm.generate(inputs_embeds=inputs_embeds,
                          attention_mask=attention_mask, **cfg)
        check.raise_if_found()
        return out


def attach_engine(model: torch.nn.Module, setting: Setting = 'auto',
                  quantization: Optional[str] = None,
                  features: Optional[dict] = None,
                  kernels: bool = True) -> GenerationEngine:
    """Resolve ``setting`` for a loaded ``Llava`` and set ``model.engine``.

    Called by :func:`~llava_mm.apis.init_model` once the model is on its
    device; call it again after moving the model or changing its dtype.
    ``Llava.generate`` calls it with ``kernels=False`` for a model that was
    built without it (by a training Runner): the CPU kernels change the
    model's modules and are only applied at load.

    Args:
        model (Llava): The model.
        setting (str | dict | None): See :mod:`.strategy`.
        quantization (str, optional): ``'int8'``/``'nf4'`` or None.
        features (dict, optional): CPU features (tests pass other CPUs').
        kernels (bool): Apply the CPU kernels the strategy chose.

    Returns:
        GenerationEngine: The engine, with the CPU kernels applied (and
        what was applied in ``engine.kernels``).
    """
    lm = model.lang_encoder
    device_type = next(lm.parameters()).device.type
    strategy = resolve_strategy(
        setting, device_type, lm.dtype, quantization,
        dispatched=getattr(model, 'device_map', None) is not None,
        features=features)
    if not kernels:
        strategy = dataclasses.replace(
            strategy, **{k: False for k in KERNELS})
    applied = apply_cpu_kernels(
        model, strategy.bf16_gemv, strategy.fp32_prefill,
        strategy.decode_attention, features)
    engine = GenerationEngine(strategy, device_type)
    engine.kernels = applied
    model.engine = engine
    return engine
