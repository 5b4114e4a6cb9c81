"""Device names as a user gives them (``device=``, ``--device``)."""
from typing import Union

import torch


def check_device(device: Union[str, torch.device]) -> None:
    """Refuse a device this machine does not have, before any loading.

    Args:
        device (str | torch.device): E.g. ``'cpu'``, ``'cuda'``,
            ``'cuda:1'``.

    Raises:
        ValueError: Not a device name, or an accelerator that is absent.
    """
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(
            f"device={device!r} is not a device name ({e}); use 'cpu', "
            "'cuda' or 'cuda:N'.") from None
    if dev.type != 'cuda':
        return
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        raise ValueError(f'device={device!r}, but this machine has no '
                         "usable CUDA GPU; use device='cpu'.")
    if dev.index is not None and dev.index >= count:
        raise ValueError(
            f'device={device!r}, but this machine has {count} CUDA '
            f"GPU(s): use 'cuda:0' to 'cuda:{count - 1}'.")
