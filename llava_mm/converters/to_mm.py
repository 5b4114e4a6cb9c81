"""Key mappings from transformers / original LLaVA layouts to OpenMMLab's.

Every function works tensor by tensor over a lazy reader, so a converter
never holds more than the output state dict (one copy of the weights).
"""
import json
import os.path as osp
import re
from glob import glob
from typing import Callable, Dict, Iterator, Optional, Tuple

import torch

from llava_mm.constants import LM_PREFIX as LM
from llava_mm.constants import VISION_PREFIX as VISION
from llava_mm.utils.safe_load import load_checkpoint_file, open_safetensors

from .key_maps import (
    CLIP_CLS,
    CLIP_POS,
    CLIP_VISION_NAMES,
    HF_RENAMED,
    LLAVA_HF_LM_NAMES,
    rename,
)


def iter_checkpoint_dir(src: str) -> Iterator[Tuple[str, Callable]]:
    """Yield ``(key, load_fn)`` for every tensor of a transformers directory.

    Reads ``*.safetensors`` lazily (one tensor at a time) or memory-maps
    ``pytorch_model*.bin`` files.

    Args:
        src (str): A directory saved with ``save_pretrained``.

    Yields:
        tuple: The key and a function returning its tensor.
    """
    st = sorted(glob(osp.join(src, '*.safetensors')))
    if st:
        for path in st:
            # Kept open: the loaders below read from it on demand.
            f = open_safetensors(path)
            for k in f.keys():
                yield k, (lambda f=f, k=k: f.get_tensor(k))
        return
    bins = sorted(glob(osp.join(src, 'pytorch_model*.bin')))
    if not bins:
        raise FileNotFoundError(
            f'No *.safetensors or pytorch_model*.bin files in {src}.')
    for path in bins:
        sd = load_checkpoint_file(path)
        if not isinstance(sd, dict):
            raise ValueError(f'{path} holds a {type(sd).__name__}, not a '
                             'state dict.')
        for k in list(sd):
            yield k, (lambda sd=sd, k=k: sd[k])


def clip_vision_key(key: str) -> Optional[str]:
    """Map a transformers CLIP vision key (after ``vision_model.``).

    Returns:
        str | None: The OpenMMLab key, or None for a tensor LLaVA does not
        use (``post_layernorm``, ``position_ids``).
    """
    if key.startswith('post_layernorm') or key.endswith('position_ids'):
        return None
    for mm_name, hf_name in (CLIP_CLS, CLIP_POS):
        if key == hf_name:
            return mm_name
    # q/k/v stay apart here; convert_clip_vision fuses them into attn.qkv.
    qkv = r'^encoder\.layers\.(\d+)\.self_attn\.([qkv])_proj\.'
    if re.match(qkv, key):
        return re.sub(qkv, r'layers.\1.attn.\2_proj.', key)
    new = rename(key, CLIP_VISION_NAMES, reverse=True)
    if new is not None:
        return new
    raise KeyError(f'Unknown CLIP vision key {key!r}.')


def convert_clip_vision(items: Iterator[Tuple[str, Callable]],
                        prefix: str) -> Dict[str, torch.Tensor]:
    """Convert CLIP vision tensors under ``prefix`` to OpenMMLab layout.

    q/k/v projections are concatenated into ``attn.qkv``; the class and
    position embeddings get their leading batch dims.

    Args:
        items: ``(key, load_fn)`` pairs (other keys are ignored).
        prefix (str): E.g. ``'vision_tower.vision_model.'``.

    Returns:
        dict: Keys relative to the vision tower.
    """
    out, qkv = {}, {}
    for key, load in items:
        if not key.startswith(prefix):
            continue
        new = clip_vision_key(key[len(prefix):])
        if new is None:
            continue
        m = re.match(r'^layers\.(\d+)\.attn\.([qkv])_proj\.(weight|bias)$',
                     new)
        if m:
            qkv.setdefault((m.group(1), m.group(3)), {})[m.group(2)] = load()
            continue
        t = load()
        if new == 'cls_token':
            t = t.reshape(1, 1, -1)
        elif new == 'pos_embed':
            t = t.unsqueeze(0)
        out[new] = t
    for (layer, kind), parts in qkv.items():
        out[f'layers.{layer}.attn.qkv.{kind}'] = torch.cat(
            [parts['q'], parts['k'], parts['v']])
    return out


def read_json(path: str) -> dict:
    """Read a JSON object, with errors that name the file.

    Args:
        path (str): E.g. a model directory's ``config.json``.

    Returns:
        dict: The parsed object.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} not found: pass the directory of a '
                                'saved model (with config.json).')
    try:
        with open(path, encoding='utf-8') as f:
            config = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f'{path} is not valid JSON ({e}). Download or '
                         'save the model again.') from e
    if not isinstance(config, dict):
        raise ValueError(f'{path} holds a JSON {type(config).__name__}, not '
                         'a config object.')
    return config


def convert_llava_hf(src: str,
                     vocab_size: Optional[int] = None
                     ) -> Dict[str, torch.Tensor]:
    """A transformers LLaVA directory -> our layout.

    ``LlavaForConditionalGeneration`` (v1.5) and
    ``LlavaNextForConditionalGeneration`` (v1.6, whose ``image_newline``
    goes to ``model.lang_encoder.model.image_newline``) directories, in the
    llava-hf layout or as saved again by transformers >= 4.52.

    Args:
        src (str): The directory (``config.json`` and weights).
        vocab_size (int, optional): Text vocabulary to keep. Defaults to
            ``image_token_id`` from the config: llava-hf puts ``<image>``,
            ``<pad>`` and padding rows after the text vocabulary.

    Returns:
        dict: OpenMMLab-layout state dict, vision tower included.
    """
    config = read_json(osp.join(src, 'config.json'))
    if config.get('model_type') not in ('llava', 'llava_next'):
        raise ValueError(f'{src}/config.json has model_type '
                         f'{config.get("model_type")!r}, expected "llava" '
                         'or "llava_next".')
    layer = config.get('vision_feature_layer', -2)
    strategy = config.get('vision_feature_select_strategy', 'default')
    if not isinstance(layer, int) or strategy != 'default':
        raise ValueError(
            'Only a single vision_feature_layer with the "default" select '
            f'strategy (CLS dropped) is LLaVA v1/v1.5; got {layer!r}, '
            f'{strategy!r}.')
    if vocab_size is None:
        vocab_size = config.get('image_token_id',
                                config.get('image_token_index'))
    items = list(iter_checkpoint_dir(src))
    vision_prefix = next(
        (p for p in ('model.vision_tower.vision_model.',
                     'vision_tower.vision_model.', 'model.vision_tower.',
                     'vision_tower.')
         if any(k.startswith(p) for k, _ in items)), None)
    if vision_prefix is None:
        raise KeyError(f'No CLIP vision tower keys in {src}.')
    out = {VISION + k: v
           for k, v in convert_clip_vision(items, vision_prefix).items()}
    for key, load in items:
        if key.startswith(vision_prefix):
            continue
        on_disk = rename(key, HF_RENAMED) or key
        new = rename(on_disk, LLAVA_HF_LM_NAMES, reverse=True)
        if new is None:
            raise KeyError(f'Unknown key {key!r} in {src}.')
        new = LM + new
        t = load()
        if new.endswith(('embed_tokens.weight', 'lm_head.weight')):
            t = t[:vocab_size].clone()
        out[new] = t
    return out


def convert_llava_original(src: str, clip_dir: Optional[str] = None
                           ) -> Dict[str, torch.Tensor]:
    """An original LLaVA (liuhaotian) dir, plus a CLIP dir -> our layout.

    LLaVA-1.5 files hold no vision tower (it was frozen): it comes from
    ``clip_dir``. LLaVA-1.6 files hold the tower they fine-tuned
    (``model.vision_tower.vision_tower.vision_model.*``) and
    ``model.image_newline``; ``clip_dir`` is then not needed.

    Args:
        src (str): e.g. a download of ``liuhaotian/llava-v1.5-7b`` or
            ``liuhaotian/llava-v1.6-mistral-7b``: a causal-LM state dict
            with ``model.mm_projector.*``.
        clip_dir (str, optional): A transformers CLIP (or CLIPVision) model
            dir, e.g. ``openai/clip-vit-large-patch14-336``; it replaces a
            tower in ``src``.

    Returns:
        dict: OpenMMLab-layout state dict, vision tower included.
    """
    out, own_tower = {}, []
    for key, load in iter_checkpoint_dir(src):
        if key.startswith('model.vision_tower.'):
            own_tower.append((key, load))
            continue
        if key.endswith('rotary_emb.inv_freq'):
            continue
        if not key.startswith(('model.', 'lm_head.')):
            raise KeyError(f'Unknown key {key!r} in {src}.')
        out[LM + key] = load()
    if clip_dir is not None:
        items = list(iter_checkpoint_dir(clip_dir))
        # A CLIPModel holds vision_model.* (and text_model.*); a
        # CLIPVisionModel saved by transformers 5 holds the bare keys.
        prefix = next((p for p in ('vision_model.', 'model.vision_model.', '')
                       if any(k.startswith(p + 'embeddings.')
                              for k, _ in items)), None)
        if prefix is None:
            raise KeyError(
                f'No CLIP vision keys (embeddings.*) in {clip_dir}.')
    elif own_tower:
        items, prefix = own_tower, 'model.vision_tower.vision_tower.' \
            'vision_model.'
    else:
        raise KeyError(
            f'{src} holds no vision tower (LLaVA-1.5 files do not): pass '
            'the CLIP directory it was trained with, e.g. '
            'openai/clip-vit-large-patch14-336.')
    vision = convert_clip_vision(items, prefix)
    if not vision:
        raise KeyError(f'No CLIP vision tensors under {prefix!r} in '
                       f'{clip_dir or src}.')
    out.update({VISION + k: v for k, v in vision.items()})
    return out
