"""What ``Llava.generate`` hands to transformers' ``generate``."""
from typing import Dict

import torch
from transformers import LogitsProcessorList

from .kv_cache import CACHE_KWARG, PreallocatedCache, prefill_each
from .logits_check import CheckFiniteLogits


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


def add_cache(lm: torch.nn.Module, batch: Dict[str, torch.Tensor],
              cfg: dict, total: int, each: bool) -> None:
    """Put a preallocated cache into ``cfg``, prefilled sample by sample.

    Nothing happens when ``cfg`` turns the cache off or brings its own.
    The per-sample prompt pass runs only where it gives the batched pass's
    cache: not when beams or several returns expand the batch after the
    cache is made, and not for one-position prompts.

    Args:
        lm (nn.Module): The language model.
        batch (dict): ``inputs_embeds`` (B, L, D) and ``attention_mask``
            (B, L), left-padded.
        cfg (dict): transformers ``generate`` arguments (modified).
        total (int): Positions the cache holds.
        each (bool): Whether the prompt pass may run sample by sample.
    """
    if not cfg.get('use_cache', True) or {'cache',
                                          'past_key_values'} & cfg.keys():
        return
    # Filled in place: no per-token copy of the cache (kv_cache.py).
    cfg[CACHE_KWARG] = PreallocatedCache(
        lm.config.num_hidden_layers, total, dtype=lm.dtype)
    mask = batch['attention_mask']
    gen = lm.generation_config
    expands = cfg.get('num_beams', gen.num_beams or 1) > 1 or cfg.get(
        'num_return_sequences', gen.num_return_sequences or 1) > 1
    if each and not expands and int(mask.sum(1).min()) >= 2:
        prefill_each(lm.get_decoder(), batch['inputs_embeds'], mask,
                     cfg[CACHE_KWARG])


def add_finite_check(cfg: dict) -> None:
    """Append :class:`CheckFiniteLogits` to ``cfg['logits_processor']``."""
    cfg['logits_processor'] = LogitsProcessorList(
        [*(cfg.get('logits_processor') or []), CheckFiniteLogits()])
