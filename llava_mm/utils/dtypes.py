"""Dtype names as configs and command lines spell them."""
from typing import Optional, Union

import torch

DTYPES = {'fp32': torch.float32, 'float32': torch.float32,
          'fp16': torch.float16, 'float16': torch.float16,
          'bf16': torch.bfloat16, 'bfloat16': torch.bfloat16}
# The names a command line offers.
DTYPE_CHOICES = ('fp32', 'fp16', 'bf16')


def to_torch_dtype(
        dtype: Union[str, torch.dtype, None]) -> Optional[torch.dtype]:
    """Turn ``'bf16'``/``'fp16'``/``'fp32'`` (or a torch dtype) into a dtype.

    Args:
        dtype (str | torch.dtype, optional): The name or dtype.

    Returns:
        torch.dtype | None: The dtype; ``None`` stays ``None``.
    """
    if isinstance(dtype, torch.dtype) and not dtype.is_floating_point:
        raise ValueError(
            f'dtype={dtype} is not a floating-point dtype; model weights '
            f'are cast to it. Use one of {list(DTYPE_CHOICES)} (or the '
            'matching torch dtype).')
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in DTYPES:
        raise ValueError(f'Unknown dtype {dtype!r}; use one of '
                         f'{sorted(DTYPES)}.')
    return DTYPES[dtype]
