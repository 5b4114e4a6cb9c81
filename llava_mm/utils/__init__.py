from .lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    'DEFAULT_CORPUS': '.tokenizer',
    'DTYPES': '.dtypes',
    'WeightsUnavailableError': '.errors',
    'to_torch_dtype': '.dtypes',
    'train_tokenizer': '.tokenizer',
    'unavailable': '.errors',
})
