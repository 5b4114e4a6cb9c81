"""A key/value cache that does not copy itself at every generated token.

transformers' default ``DynamicCache`` appends each new token with
``torch.cat``, which allocates and copies the whole cache of every layer at
every step: per-token work that grows with the sequence (on CPU the fresh
allocations also page-fault). Here all layers write into one buffer sized
for the prompt plus the tokens to generate (allocated once, at the first
update) and return views of their filled part, so a step costs the same at
position 600 as at position 10. The values are the same, so outputs do not
change.

:func:`prefill_each` runs the prompt pass of a left-padded batch one sample
at a time into such a cache. On CPU, where the prompt pass is bound by
arithmetic, that skips the padding and lets each sample's attention be
plainly causal (no mask: half the score blocks are skipped) instead of
masked; the batched decode steps that follow are unchanged. Its output is
only the cache, so for transformers' LLaMA it computes just the keys and
values of the last decoder layer (:func:`skips_last_layer`).
"""
from typing import Optional

import torch
from transformers.cache_utils import Cache, DynamicCache, DynamicLayer
from transformers.masking_utils import create_causal_mask
from transformers.models.llama.modeling_llama import (
    LlamaAttention,
    LlamaDecoderLayer,
    LlamaModel,
    apply_rotary_pos_emb,
)

from llava_mm.utils.hf_compat import CACHE_KWARG


def start_layer(layer: DynamicLayer, like: torch.Tensor) -> None:
    """Initialise a transformers cache layer for keys shaped like ``like``.

    The one use of ``DynamicLayer``'s internals besides its ``keys`` and
    ``values`` tensors (which ``get_seq_length``, ``reorder_cache`` and
    ``crop`` read): ``lazy_initialization`` sets the layer's device and
    ``is_initialized``. ``tests/test_kv_cache.py`` checks this contract
    against the installed transformers.

    Args:
        layer (DynamicLayer): The layer.
        like (torch.Tensor): (B, H, q, D) keys of its device and dtype.
    """
    layer.lazy_initialization(like, like)


def show_filled(layer: 'PreallocatedLayer', end: int) -> None:
    """Point the layer's ``keys``/``values`` at its first ``end`` positions.

    Args:
        layer (PreallocatedLayer): The layer.
        end (int): Filled positions.
    """
    layer.keys = layer._k[..., :end, :]
    layer.values = layer._v[..., :end, :]


class PreallocatedLayer(DynamicLayer):
    """A ``DynamicLayer`` backed by a buffer of ``capacity`` positions.

    Args:
        cache (PreallocatedCache): Owner of the shared buffer.
        index (int): This layer's index.
    """

    def __init__(self, cache: 'PreallocatedCache', index: int) -> None:
        super().__init__()
        self.cache, self.index = cache, index

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor,
               *args, **kwargs):
        """Write the new positions in place; return the filled part.

        Args:
            key_states (torch.Tensor): (B, H, q, D) new keys.
            value_states (torch.Tensor): (B, H, q, D) new values.

        Returns:
            tuple: Keys and values (B, H, n + q, D): views of the buffers,
            converted to the dtype of ``key_states`` if the cache keeps
            another one.
        """
        if not self.is_initialized:
            start_layer(self, key_states)
            self._k, self._v = self.cache.buffers(self.index, key_states)
            show_filled(self, 0)
        n, q = self.keys.shape[-2], key_states.shape[-2]
        # Re-home the cache if another method replaced the views (beam
        # reordering, batch selection) or the buffer is full.
        if n + q > self._k.shape[-2] or n and (
                self.keys.shape[0] != self._k.shape[0]
                or self.keys.data_ptr() != self._k.data_ptr()):
            old_k, old_v = self.keys, self.values
            B, H, _, D = old_k.shape
            size = (B, H, max(2 * (n + q), self._k.shape[-2]), D)
            self._k, self._v = old_k.new_empty(size), old_v.new_empty(size)
            self._k[..., :n, :] = old_k
            self._v[..., :n, :] = old_v
        self._k[..., n:n + q, :] = key_states
        self._v[..., n:n + q, :] = value_states
        show_filled(self, n + q)
        if self.keys.dtype != key_states.dtype:
            return (self.keys.to(key_states.dtype),
                    self.values.to(value_states.dtype))
        return self.keys, self.values


class PreallocatedCache(DynamicCache):
    """A ``DynamicCache`` whose layers write into one preallocated buffer.

    Args:
        num_layers (int): Decoder layers of the model.
        capacity (int): Prompt length plus tokens to generate.
        dtype (torch.dtype, optional): dtype to store (e.g. the model's
            bf16 while a prompt pass runs in fp32); defaults to that of the
            first keys.
    """

    def __init__(self, num_layers: int, capacity: int,
                 dtype: Optional[torch.dtype] = None) -> None:
        Cache.__init__(self, layers=[PreallocatedLayer(self, i)
                                     for i in range(num_layers)])
        self.capacity, self.dtype = capacity, dtype
        self._store = None

    def buffers(self, index: int, like: torch.Tensor):
        """Key and value buffers of layer ``index``, shaped like ``like``.

        One allocation holds every layer's buffers (a single large block
        the allocator returns whole, instead of many that fragment).

        Args:
            index (int): Layer index.
            like (torch.Tensor): (B, H, q, D) first keys of the layer.

        Returns:
            tuple: (B, H, capacity, D) key and value buffers.
        """
        B, H, q, D = like.shape
        shape = (len(self.layers), 2, B, H, max(self.capacity, q), D)
        if self._store is None or self._store.shape != shape:
            self._store = like.new_empty(shape, dtype=self.dtype or
                                         like.dtype)
        return self._store[index, 0], self._store[index, 1]

    def write_row(self, index: int, start: int, row: Cache,
                  batch_size: int) -> None:
        """Copy one sample's prompt pass into row ``index`` of the cache.

        Args:
            index (int): The row.
            start (int): Where its positions start (its left padding, which
                is set to zeros and masked later).
            row (Cache): A batch-size-1 cache of the sample's positions.
            batch_size (int): Rows of this cache (allocated on first use).
        """
        for j, layer in enumerate(self.layers):
            k, v = row.layers[j].keys, row.layers[j].values  # (1, H, n, D)
            if not layer.is_initialized:
                like = k.new_empty((batch_size, k.shape[1], 0, k.shape[3]))
                start_layer(layer, like)
                layer._k, layer._v = self.buffers(j, like)
            end = start + k.shape[-2]
            # Padding must be finite: a masked score is -inf, but a NaN key
            # or value would still spoil the softmax or its weighted sum.
            layer._k[index, :, :start] = 0
            layer._v[index, :, :start] = 0
            layer._k[index, :, start:end] = k[0]
            layer._v[index, :, start:end] = v[0]
            show_filled(layer, end)


def skips_last_layer(decoder: torch.nn.Module) -> bool:
    """Whether :func:`cache_prompt` may skip the last layer's unread work.

    The shortcut re-implements how a layer makes its keys and values (input
    norm, ``k_proj``/``v_proj``, LLaMA's rotary embedding) and how
    ``LlamaModel.forward`` calls its layers, so it is right only for
    transformers' LLaMA classes themselves. A subclass or another
    architecture (extra key norms, fused projections, scaled embeddings,
    other position encodings) may differ anywhere in that, so it gets the
    decoder's own forward pass.

    Args:
        decoder (nn.Module): The LM's decoder (``get_decoder()``).

    Returns:
        bool: True for a plain ``LlamaModel`` of ``LlamaDecoderLayer``s
        with ``LlamaAttention``.
    """
    return type(decoder) is LlamaModel and all(
        type(layer) is LlamaDecoderLayer
        and type(layer.self_attn) is LlamaAttention
        for layer in decoder.layers)


def cache_prompt(decoder: torch.nn.Module, inputs_embeds: torch.Tensor,
                 cache: Cache) -> None:
    """Fill ``cache`` with the keys and values of one unpadded prompt.

    The same cache as ``decoder(inputs_embeds=..., cache=cache,
    use_cache=True)``, which is what runs unless
    :func:`skips_last_layer`. For transformers' LLaMA it skips the work
    whose result nothing reads: the last layer's keys and values depend
    only on its input, so its queries, attention, output projection and
    MLP are skipped, as is the final norm (the other layers are run the
    way ``LlamaModel.forward`` runs them).

    Args:
        decoder (nn.Module): The LM's decoder (``get_decoder()``).
        inputs_embeds (torch.Tensor): (1, n, D) prompt embeddings.
        cache (Cache): An empty cache; filled in place.
    """
    if not skips_last_layer(decoder):
        decoder(inputs_embeds=inputs_embeds, use_cache=True,
                **{CACHE_KWARG: cache})
        return
    n = inputs_embeds.shape[1]
    position_ids = torch.arange(n, device=inputs_embeds.device)[None]
    mask = create_causal_mask(
        config=decoder.config, inputs_embeds=inputs_embeds,
        attention_mask=None, position_ids=position_ids,
        **{CACHE_KWARG: cache})
    position_embeddings = decoder.rotary_emb(inputs_embeds, position_ids)
    *layers, last = decoder.layers[:decoder.config.num_hidden_layers]
    hidden = inputs_embeds
    for layer in layers:
        hidden = layer(hidden, attention_mask=mask,
                       position_embeddings=position_embeddings,
                       position_ids=position_ids, use_cache=True,
                       **{CACHE_KWARG: cache})
    attn = last.self_attn
    x = last.input_layernorm(hidden)
    shape = (1, n, -1, attn.head_dim)
    keys = attn.k_proj(x).view(shape).transpose(1, 2)  # (1, H_kv, n, D)
    values = attn.v_proj(x).view(shape).transpose(1, 2)
    _, keys = apply_rotary_pos_emb(keys, keys, *position_embeddings)
    cache.update(keys, values, attn.layer_idx)


def prefill_each(decoder: torch.nn.Module, inputs_embeds: torch.Tensor,
                 attention_mask: torch.Tensor,
                 cache: PreallocatedCache) -> None:
    """Prompt pass of a left-padded batch, one sample at a time.

    Every position but the last goes through ``decoder`` per sample (no
    padding, positions from 0 as the batched pass numbers them; see
    :func:`cache_prompt`) into ``cache``; transformers' ``generate``, given
    the cache, then runs the last prompt position for the whole batch and
    decodes as usual.

    Args:
        decoder (nn.Module): The LM's decoder (``get_decoder()``).
        inputs_embeds (torch.Tensor): (B, L, D) left-padded prompts.
        attention_mask (torch.Tensor): (B, L), 0 on the padding.
        cache (PreallocatedCache): An empty cache for the batch.
    """
    B, L, _ = inputs_embeds.shape
    lengths = attention_mask.sum(dim=1).tolist()
    if any(n < 2 for n in lengths):
        raise ValueError('prefill_each needs at least two prompt positions '
                         'per sample.')
    if B == 1 and lengths[0] == L:  # straight into the buffer, no copy
        cache_prompt(decoder, inputs_embeds[:, :L - 1], cache)
        return
    for i, n in enumerate(lengths):
        start, row = L - int(n), DynamicCache()
        cache_prompt(decoder, inputs_embeds[i:i + 1, start:L - 1], row)
        cache.write_row(i, start, row, B)
