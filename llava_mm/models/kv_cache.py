"""A key/value cache that does not copy itself at every generated token.

transformers' default ``DynamicCache`` appends each new token with
``torch.cat``, which allocates and copies the whole cache of every layer at
every step: per-token work that grows with the sequence (on CPU the fresh
allocations also page-fault). Here each layer writes into one buffer sized
for the prompt plus the tokens to generate and returns views of its filled
part, so a step costs the same at position 600 as at position 10. The values
are the same tensors, so outputs do not change.
"""
import torch
from transformers.cache_utils import Cache, DynamicCache, DynamicLayer


class PreallocatedLayer(DynamicLayer):
    """A ``DynamicLayer`` backed by a buffer of ``capacity`` positions.

    Args:
        capacity (int): Positions to reserve; the buffer doubles if a
            longer sequence arrives.
    """

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity

    def _alloc(self, like: torch.Tensor, length: int) -> torch.Tensor:
        B, H, _, D = like.shape
        return like.new_empty(B, H, max(self.capacity, length), D)

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor,
               *args, **kwargs):
        """Write the new positions in place; return views of the filled part.

        Args:
            key_states (torch.Tensor): (B, H, q, D) new keys.
            value_states (torch.Tensor): (B, H, q, D) new values.

        Returns:
            tuple: Keys and values (B, H, n + q, D), views of the buffers.
        """
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
            self._k = self._alloc(key_states, key_states.shape[-2])
            self._v = self._alloc(value_states, value_states.shape[-2])
            self.keys, self.values = self._k[..., :0, :], self._v[..., :0, :]
        n, q = self.keys.shape[-2], key_states.shape[-2]
        # Re-home the cache if another method replaced the views (beam
        # reordering, batch selection) or the buffer is full.
        if (n + q > self._k.shape[-2] or self.keys.shape[0] != self._k.shape[0]
                or self.keys.data_ptr() != self._k.data_ptr()):
            self.capacity = max(self.capacity, 2 * (n + q))
            old_k, old_v = self.keys, self.values
            self._k = self._alloc(old_k, n + q)
            self._v = self._alloc(old_v, n + q)
            self._k[..., :n, :] = old_k
            self._v[..., :n, :] = old_v
        self._k[..., n:n + q, :] = key_states
        self._v[..., n:n + q, :] = value_states
        self.keys = self._k[..., :n + q, :]
        self.values = self._v[..., :n + q, :]
        return self.keys, self.values


class PreallocatedCache(DynamicCache):
    """A ``DynamicCache`` whose layers are :class:`PreallocatedLayer`.

    Args:
        num_layers (int): Decoder layers of the model.
        capacity (int): Prompt length plus tokens to generate.
    """

    def __init__(self, num_layers: int, capacity: int) -> None:
        Cache.__init__(self, layers=[PreallocatedLayer(capacity)
                                     for _ in range(num_layers)])
