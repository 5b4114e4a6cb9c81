from .to_llava_hf import export_llava_hf
from .to_mm import convert_llava_hf, convert_llava_original

__all__ = ['convert_llava_hf', 'convert_llava_original', 'export_llava_hf']
