from .dtypes import DTYPES, to_torch_dtype
from .errors import WeightsUnavailableError, unavailable
from .tokenizer import DEFAULT_CORPUS, train_tokenizer

__all__ = [
    'DEFAULT_CORPUS', 'DTYPES', 'WeightsUnavailableError', 'to_torch_dtype',
    'train_tokenizer', 'unavailable'
]
