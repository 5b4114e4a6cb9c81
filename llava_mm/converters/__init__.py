"""Checkpoint layouts: original LLaVA and llava-hf to this package's
(:mod:`.to_mm`, which the model loader uses) and back to llava-hf
(:mod:`.to_llava_hf`, which builds on the models). Imported on first use, so
that the loader's import of :mod:`.to_mm` does not load the models back.
"""
from llava_mm.utils.lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    'convert_llava_hf': '.to_mm',
    'convert_llava_original': '.to_mm',
    'export_llava_hf': '.to_llava_hf',
})
