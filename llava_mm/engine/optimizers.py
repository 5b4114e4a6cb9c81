"""bitsandbytes' optimizers in mmengine's ``OPTIMIZERS`` registry.

mmengine registers them when ``mmengine.optim`` is imported, which imports
bitsandbytes in every process that uses ``mmengine.model``. llava_mm defers
that import (:mod:`llava_mm.utils.third_party`) to this module: the
location of llava_mm's ``OPTIMIZERS`` registry, imported when a config
first builds an optimizer.
"""
from mmengine.optim.optimizer import builder

if not builder.BITSANDBYTES_OPTIMIZERS:
    builder.BITSANDBYTES_OPTIMIZERS.extend(
        builder.register_bitsandbytes_optimizers())
