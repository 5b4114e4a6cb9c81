"""Names that differ between the transformers releases llava_mm supports."""
import inspect

from transformers.masking_utils import create_causal_mask

# The cache's keyword in transformers' LLaMA modules, create_causal_mask and
# generate: 5.24 renamed it from ``past_key_values`` to ``cache`` (the old
# name still works there, with a warning, until 5.40 / 6.0); earlier 5.x
# releases know only the old name.
CACHE_KWARG = ('cache' if 'cache' in inspect.signature(
    create_causal_mask).parameters else 'past_key_values')
