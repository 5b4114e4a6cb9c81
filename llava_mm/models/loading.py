"""Load OpenMMLab LLaVA checkpoints without a second copy in memory.

The model is built on the meta device (no random init of 7B parameters),
the checkpoint is opened with ``torch.load(mmap=True, weights_only=True)``
(:mod:`llava_mm.utils.safe_load`: nothing in the file is run) and each
tensor is cast to the requested dtype as it is assigned. A file whose keys
or shapes do not match the config fails loudly, naming the first offending
key.
"""
import os
import os.path as osp
import re
from typing import Dict, Optional

import torch
from mmengine.logging import print_log
from torch import nn

from llava_mm.constants import VISION_PREFIX
from llava_mm.utils.errors import local_copy_hint, unavailable
from llava_mm.utils.safe_load import load_checkpoint_file, read_safetensors

# Keys a released vision file may hold that LLaVA never uses: the final norm
# (ln1, applied after the last block) and a classification head.
_UNUSED_VISION = re.compile(r'^(ln1\.|head\.|pre_logits|proj$)')


def resolve_file(path_or_url: str, option: str) -> str:
    """Local path of a checkpoint; URLs go through torch's download cache.

    Args:
        path_or_url (str): A path or an http(s) URL.
        option (str): The argument name pointing at it, for the error.

    Returns:
        str: A local file path.
    """
    if re.match(r'^https?://', path_or_url):
        from torch.hub import download_url_to_file, get_dir
        dst = osp.join(get_dir(), 'checkpoints', osp.basename(path_or_url))
        if not osp.isfile(dst):
            os.makedirs(osp.dirname(dst), exist_ok=True)
            try:
                download_url_to_file(path_or_url, dst, progress=True)
            except Exception as e:  # urllib raises many types offline
                raise unavailable('checkpoint', path_or_url, option,
                                  e) from e
        return dst
    check_local_file(path_or_url, option)
    return path_or_url


def check_local_file(path_or_url: str, option: str) -> None:
    """Raise at once when a checkpoint path is not a file (URLs pass).

    Args:
        path_or_url (str): A path or an http(s) URL.
        option (str): The argument name pointing at it, for the error.

    Raises:
        FileNotFoundError: No file at the path.
    """
    if re.match(r'^https?://', path_or_url) or osp.isfile(path_or_url):
        return
    state = 'is a folder' if osp.isdir(path_or_url) else 'not found'
    raise FileNotFoundError(
        f'Checkpoint {path_or_url} {state}. Give an existing file: '
        f'{local_copy_hint(option)}.')


def read_state_dict(path: str) -> Dict[str, torch.Tensor]:
    """Memory-map a ``.pth`` (or read a ``.safetensors``) state dict.

    mmengine's ``{'state_dict': ...}`` wrapper is unwrapped, so a training
    checkpoint of ``tools/train.py`` loads too.

    Args:
        path (str): Local file.

    Returns:
        dict: Name -> tensor (backed by the file where possible).
    """
    if path.endswith('.safetensors'):
        return read_safetensors(path)
    ckpt = load_checkpoint_file(path)
    for key in ('state_dict', 'model', 'module'):
        if isinstance(ckpt, dict) and key in ckpt and not isinstance(
                ckpt[key], torch.Tensor):
            if not isinstance(ckpt[key], dict):
                raise ValueError(
                    f'{path}: {key!r} holds a {type(ckpt[key]).__name__}, '
                    'not a dict of tensors; the file is not a model '
                    'checkpoint.')
            ckpt = ckpt[key]
    check_tensor_dict(ckpt, path)
    return ckpt


def check_tensor_dict(state, path: str) -> None:
    """Raise unless ``state`` is a non-empty dict of name -> tensor.

    Args:
        state: What a checkpoint file held (after unwrapping).
        path (str): The file, for the message.
    """
    if not isinstance(state, dict):
        raise ValueError(f'{path} holds a {type(state).__name__}, not a '
                         'state dict (name -> tensor).')
    if not state:
        raise ValueError(f'{path} holds no tensors (an empty state dict); '
                         'it is not a model checkpoint. Pass the file '
                         'written by tools/train.py or a converter.')
    bad = next((k for k, v in state.items()
                if not isinstance(v, torch.Tensor)), None)
    if bad is not None:
        raise ValueError(
            f'{path}: {bad!r} is not a tensor ({type(state[bad]).__name__})'
            '; the file is not a state dict of model weights.')


def vision_state_dict(path: str, num_built: int) -> Dict[str, torch.Tensor]:
    """Read a vision-tower file in OpenMMLab ``VisionTransformer`` layout.

    Strips ``backbone.``; drops blocks past the ones built and the unused
    final norm/head, saying so.

    Args:
        path (str): Local file.
        num_built (int): Blocks the model builds.

    Returns:
        dict: Keys relative to the vision tower.
    """
    out, dropped = {}, []
    for k, v in read_state_dict(path).items():
        k = re.sub(r'^backbone\.', '', k)
        m = re.match(r'^layers\.(\d+)\.', k)
        if (m and int(m.group(1)) >= num_built) or _UNUSED_VISION.match(k):
            dropped.append(k)
            continue
        out[k] = v
    if dropped:
        print_log(
            f'Vision checkpoint {osp.basename(path)}: {len(dropped)} tensors '
            f'not used by LLaVA were skipped (blocks >= {num_built}, final '
            'norm/head).', logger='current')
    return out


def check_state_dict(model: nn.Module, state: Dict[str, torch.Tensor],
                     source: str) -> None:
    """Raise unless ``state`` has exactly the model's keys and shapes.

    Args:
        model (nn.Module): The target.
        state (dict): The checkpoint tensors.
        source (str): File name(s), for the message.
    """
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f'{len(missing)} missing (first: {missing[:3]})')
        if unexpected:
            parts.append(f'{len(unexpected)} unexpected (first: '
                         f'{unexpected[:3]})')
        raise KeyError(
            f'Checkpoint {source} does not match the model config: '
            f'{"; ".join(parts)}. Check that the config (v1 vs v1.5, '
            'mm_proj_depth, vision_encoder) belongs to this checkpoint and '
            'that the vision weights are given (vision_encoder.pretrained).')
    for k, ref in expected.items():
        if ref.is_floating_point() and not state[k].is_floating_point():
            raise TypeError(
                f'Checkpoint {source} holds {k!r} as {state[k].dtype}; the '
                f'model needs floating-point weights there ({ref.dtype}). '
                'Quantized or integer files are not LLaVA checkpoints in '
                'the OpenMMLab layout: convert the original weights with '
                'tools/model_converters.')
        if tuple(state[k].shape) != tuple(ref.shape):
            raise ValueError(
                f'Checkpoint {source} does not match the model config at '
                f'{k!r}: checkpoint shape {tuple(state[k].shape)}, model '
                f'shape {tuple(ref.shape)}. Check the config\'s sizes (e.g. '
                'vocabulary, hidden size, image size) against the file.')


def cast_checked(state: Dict[str, torch.Tensor],
                 dtype: Optional[torch.dtype],
                 source: str,
                 device: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """Cast floating tensors to ``dtype`` and refuse NaN/inf weights.

    One reduction per tensor (:func:`torch.aminmax`, which propagates
    NaN, on the values being assigned; far cheaper than ``isfinite`` on
    bf16, see docs/benchmark.md), so a broken file fails here instead of
    generating empty text.

    Args:
        state (dict): Checked state dict (names and shapes).
        dtype (torch.dtype, optional): Target dtype of floating tensors.
        source (str): File name(s), for the message.
        device (str, optional): Move each tensor there first (an
            accelerator casts and checks far faster than the CPU).

    Returns:
        dict: The tensors to assign.
    """
    out = {}
    move = device is not None and torch.device(device).type != 'cpu'
    for k, v in state.items():
        if move:
            v = v.to(device)
        if v.is_floating_point():
            if dtype is not None:
                v = v.to(dtype)
            if v.numel() and not _all_finite(v):
                n = int((~torch.isfinite(v)).sum())
                raise ValueError(
                    f'Checkpoint {source} holds {n} NaN/inf values in '
                    f'{k!r}{"" if dtype is None else f" (as {dtype})"}. '
                    'The file is broken (e.g. a diverged training run or '
                    'a bad conversion); use another checkpoint'
                    + (' or a wider dtype' if dtype is not None else '')
                    + '.')
        out[k] = v
    return out


def _all_finite(t: torch.Tensor) -> bool:
    """No NaN/inf in ``t`` (one pass, no temporary tensor)."""
    lo, hi = torch.aminmax(t)
    return bool(torch.isfinite(lo) & torch.isfinite(hi))


def _materialise_buffers(model: nn.Module) -> None:
    """Recompute non-persistent buffers left on the meta device.

    Only rotary-embedding tables (``inv_freq``) exist in these models; they
    are rebuilt from the module's config, exactly as at construction.
    """
    for name, module in model.named_modules():
        metas = [n for n, b in module.named_buffers(recurse=False)
                 if b.is_meta]
        if not metas:
            continue
        if not (type(module).__name__.endswith('RotaryEmbedding')
                and hasattr(module, 'config')):
            raise RuntimeError(f'Buffers {metas} of {name} were not in the '
                               'checkpoint and cannot be recomputed.')
        with torch.device('cpu'):
            fresh = type(module)(config=module.config)
        for n, b in fresh.named_buffers(recurse=False):
            module._buffers[n] = b


def load_llava_checkpoint(model: nn.Module,
                          checkpoint: str,
                          vision_checkpoint: Optional[str] = None,
                          dtype: Optional[torch.dtype] = None,
                          quantization: Optional[dict] = None,
                          device: Optional[str] = None) -> None:
    """Load an OpenMMLab LLaVA checkpoint (plus vision file) into ``model``.

    Works for a model built on the meta device (tensors are assigned, not
    copied) or a materialised one.

    Args:
        model (Llava): The model.
        checkpoint (str): Path/URL of the LLaVA file (LM + projector, and
            possibly the vision tower under ``model.vision_tower.``), or a
            transformers LLaVA / LLaVA-NeXT (llava-hf) directory, converted
            in memory (:func:`~llava_mm.converters.convert_llava_hf`; its
            tensors stay memory-mapped too).
        vision_checkpoint (str, optional): Path/URL of the vision file, used
            when ``checkpoint`` has no vision keys.
        dtype (torch.dtype, optional): Cast floating tensors to it.
        quantization (dict, optional): From
            :func:`~llava_mm.models.quantization.parse_quantization`: the
            LM's decoder Linear layers are quantized as they are read.
        device (str, optional): Where quantized layers are made; on an
            accelerator, the other tensors are also moved there before
            they are cast and checked.
    """
    if osp.isdir(checkpoint):
        from llava_mm.converters.to_mm import convert_llava_hf
        path, state = checkpoint, convert_llava_hf(checkpoint)
    else:
        path = resolve_file(checkpoint, 'pretrained')
        if quantization is not None:
            # A file larger than RAM + swap cannot be mapped privately (the
            # kernel charges a private writable mapping in full); a shared
            # one is only read here and the tensors kept are copied off it
            # below.
            from llava_mm.utils.memory import read_shared
            state = read_shared(read_state_dict, path)
        else:
            state = dict(read_state_dict(path))
    sources = osp.basename(osp.normpath(path))
    if not any(k.startswith(VISION_PREFIX) for k in state):
        if vision_checkpoint is None:
            raise KeyError(
                f'{sources} has no vision-tower weights and the config names '
                'no vision file: set model.vision_encoder.pretrained.')
        vpath = resolve_file(vision_checkpoint,
                             'model.vision_encoder.pretrained')
        n_built = len(model.model.vision_tower.layers)
        for k, v in vision_state_dict(vpath, n_built).items():
            state[VISION_PREFIX + k] = v
        sources += f' + {osp.basename(vpath)}'
    else:
        n_built = len(model.model.vision_tower.layers)
        for k in [k for k in state if k.startswith(VISION_PREFIX)]:
            m = re.match(r'^layers\.(\d+)\.', k[len(VISION_PREFIX):])
            if m and int(m.group(1)) >= n_built:
                del state[k]
    # Rotary tables are recomputed, never read (older files may hold them).
    state = {k: v for k, v in state.items()
             if not k.endswith('rotary_emb.inv_freq')}
    check_state_dict(model, state, sources)
    if quantization is not None:
        from .quantization import quantize_while_loading
        quantize_while_loading(
            model, state, quantization, dtype, device, path,
            check=lambda part: cast_checked(part, dtype, sources))
    state = cast_checked(state, dtype, sources, device)
    if quantization is not None:
        from llava_mm.utils.memory import copy_off_file
        state = copy_off_file(state, path)
    # Quantized layers are set already (their keys are checked above).
    model.load_state_dict(state, strict=quantization is None, assign=True)
    _materialise_buffers(model)
    lm = model.model.lang_encoder
    if getattr(lm.config, 'tie_word_embeddings', False):
        lm.tie_weights()
