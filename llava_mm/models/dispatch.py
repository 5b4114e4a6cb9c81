"""Spread a loaded model over devices, CPU and disk with accelerate.

``init_model``/``get_model`` take mmpretrain's ``device_map`` (``'auto'`` or
a dict of module name -> ``'cuda:0'``/``'cpu'``/``'disk'``) and
``offload_folder``: a model larger than one GPU or than the RAM runs with
its layers on several devices, or read from disk when they are used.
"""
import os
from typing import Dict, Optional, Union

import torch
from torch import nn

# Modules accelerate must not cut across devices.
NO_SPLIT = ['LlamaDecoderLayer', 'VisionTransformer', 'Sequential']


def dispatch(model: nn.Module, device_map: Union[str, Dict[str, str]],
             offload_folder: Optional[str] = None,
             max_memory: Optional[dict] = None) -> Dict[str, str]:
    """Place ``model``'s modules by ``device_map`` (accelerate hooks).

    Args:
        model (nn.Module): A loaded :class:`~llava_mm.models.Llava` (on CPU).
        device_map (str | dict): ``'auto'`` (fill the GPUs, then the CPU,
            then disk) or module name -> device.
        offload_folder (str, optional): Where modules mapped to ``'disk'``
            are written; needed when any are.
        max_memory (dict, optional): For ``'auto'``: device -> bytes or
            ``'10GiB'``; defaults to what is free.

    Returns:
        dict: The device map used.
    """
    try:
        from accelerate import dispatch_model, infer_auto_device_map
    except ImportError as e:
        raise ImportError("device_map needs accelerate: pip install "
                          "'llava_mm[quant]' (or accelerate).") from e
    if device_map == 'auto':
        dtype = next(model.parameters()).dtype
        device_map = infer_auto_device_map(
            model, max_memory=max_memory, no_split_module_classes=NO_SPLIT,
            dtype=dtype)
    elif not isinstance(device_map, dict):
        raise ValueError(f"device_map must be 'auto' or a dict of module "
                         f'name -> device, got {device_map!r}.')
    names = dict(model.named_modules())
    unknown = [k for k in device_map if k and k not in names]
    if unknown:
        raise ValueError(
            f'device_map names modules the model does not have: '
            f'{unknown[:3]}. Use names of model.named_modules(), e.g. '
            "{'model.lang_encoder.model.layers.0': 'cuda:0'}.")
    devices = {str(d) for d in device_map.values()}
    if 'disk' in devices:
        if offload_folder is None:
            raise ValueError('device_map puts modules on "disk": pass '
                             'offload_folder=DIR (where they are written).')
        os.makedirs(offload_folder, exist_ok=True)
    main = next((d for d in device_map.values() if str(d) not in
                 ('cpu', 'disk')), 'cpu')
    dispatch_model(model, device_map, main_device=main,
                   offload_dir=offload_folder)
    model.data_preprocessor.to(torch.device(main if not isinstance(
        main, int) else f'cuda:{main}'))
    return device_map
