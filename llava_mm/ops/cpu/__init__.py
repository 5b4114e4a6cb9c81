from .attention import ATTN_IMPLEMENTATION
from .features import cpu_features
from .fp32_prefill import native_bf16_matmul, use_fp32_prefill
from .gemv import cpu_has_avx512_bf16, use_bf16_gemv
from .speedups import apply_cpu_kernels

__all__ = [
    'ATTN_IMPLEMENTATION', 'apply_cpu_kernels', 'cpu_features',
    'cpu_has_avx512_bf16', 'native_bf16_matmul', 'use_bf16_gemv',
    'use_fp32_prefill'
]
