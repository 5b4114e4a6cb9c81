from .kv_cache import CACHE_KWARG, PreallocatedCache, prefill_each
from .logits_check import CheckFiniteLogits, NonFiniteLogitsError

__all__ = [
    'CACHE_KWARG', 'CheckFiniteLogits', 'NonFiniteLogitsError',
    'PreallocatedCache', 'prefill_each'
]
