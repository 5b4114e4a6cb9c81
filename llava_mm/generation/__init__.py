from .engine import GenerationEngine, attach_engine, check_context
from .kv_cache import PreallocatedCache, prefill_each
from .logits_check import CheckFiniteLogits, NonFiniteLogitsError
from .strategy import GenerationStrategy, resolve_strategy

__all__ = [
    'CheckFiniteLogits', 'GenerationEngine', 'GenerationStrategy',
    'NonFiniteLogitsError', 'PreallocatedCache', 'attach_engine',
    'check_context', 'prefill_each', 'resolve_strategy'
]
