from .kv_cache import CACHE_KWARG, PreallocatedCache, prefill_each

__all__ = ['CACHE_KWARG', 'PreallocatedCache', 'prefill_each']
