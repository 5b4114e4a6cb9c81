"""OpenMMLab-layout LLaVA checkpoint -> a transformers (llava-hf) directory.

LLaVA-1.5 configs give a ``LlavaForConditionalGeneration`` directory,
LLaVA-NeXT (``image_aspect_ratio='anyres'``) ones a
``LlavaNextForConditionalGeneration`` directory.

The inverse of :func:`llava_mm.converters.to_mm.convert_llava_hf`: the keys are
those of the llava-hf repositories on disk (``vision_tower.vision_model.*``,
``multi_modal_projector.linear_{1,2}.*``, ``language_model.model.*``,
``language_model.lm_head.*``), the vocabulary gets ``<image>`` and ``<pad>``
after the text tokens and is padded to a multiple of 64, as in llava-hf.
Tensors are streamed from the memory-mapped checkpoint into safetensors
shards, so at most one shard is held in memory.
"""
import json
import os
import os.path as osp
import re
from typing import Dict, Iterator, Optional, Sequence, Tuple, Union

import torch
from mmengine.config import Config

from llava_mm.constants import IMAGE_TOKEN_INDEX
from llava_mm.constants import LM_PREFIX as LM
from llava_mm.constants import VISION_PREFIX as VISION
from llava_mm.models.builders import lang_config
from llava_mm.models.loading import read_state_dict

from .key_maps import (
    CLIP_CLS,
    CLIP_POS,
    CLIP_VISION_NAMES,
    HF_VISION,
    LLAVA_HF_LM_NAMES,
    rename,
)


def hf_vocab_size(text_vocab: int) -> int:
    """llava-hf's vocabulary: text + ``<image>`` + ``<pad>``, padded to 64."""
    return -(-(text_vocab + 2) // 64) * 64


def to_llava_hf(key: str, t: torch.Tensor,
                vocab: int) -> Iterator[Tuple[str, torch.Tensor]]:
    """Map one OpenMMLab tensor to its llava-hf tensor(s).

    Args:
        key (str): OpenMMLab key (``model.vision_tower.*`` or
            ``model.lang_encoder.*``).
        t (torch.Tensor): The tensor.
        vocab (int): llava-hf vocabulary size (rows of the embedding and
            the head; the added rows are zeros).

    Yields:
        tuple: llava-hf key and tensor (``attn.qkv`` gives three).
    """
    if key.startswith(VISION):
        k = key[len(VISION):]
        m = re.match(r'^layers\.(\d+)\.attn\.qkv\.(weight|bias)$', k)
        if m:
            for name, part in zip('qkv', t.chunk(3)):
                yield (f'{HF_VISION}encoder.layers.{m.group(1)}.self_attn.'
                       f'{name}_proj.{m.group(2)}', part)
            return
        if k == CLIP_CLS[0]:
            yield HF_VISION + CLIP_CLS[1], t.reshape(-1)
            return
        if k == CLIP_POS[0]:
            yield HF_VISION + CLIP_POS[1], t.squeeze(0)
            return
        new = rename(k, CLIP_VISION_NAMES)
        new = None if new is None else HF_VISION + new
    elif key.startswith(LM):
        new = rename(key[len(LM):], LLAVA_HF_LM_NAMES)
    else:
        raise KeyError(f'Unknown OpenMMLab LLaVA key {key!r}.')
    if new is None:
        raise KeyError(f'No llava-hf name for {key!r}.')
    if new.endswith(('embed_tokens.weight', 'lm_head.weight')):
        t = torch.cat([t, t.new_zeros(vocab - t.shape[0], t.shape[1])])
    yield new, t


def llava_hf_config(cfg: Config, dtype: torch.dtype,
                    token_ids: Optional[Tuple[int, int]] = None):
    """The ``LlavaConfig`` (``LlavaNextConfig`` for anyres) of a config.

    Args:
        cfg (Config): Config with ``model`` (``mm_proj_depth=2``, an
            inline ``lang_encoder.config`` or a local ``name_or_path``).
        dtype (torch.dtype): dtype recorded in the config.
        token_ids (tuple[int, int], optional): The ids of ``<image>`` and
            the padding token in the exported tokenizer. Defaults to the
            two ids after the text vocabulary (llava-hf's).

    Returns:
        transformers.LlavaConfig | transformers.LlavaNextConfig: The config.
    """
    from transformers import CLIPVisionConfig, LlavaConfig, LlavaNextConfig

    m = cfg.model
    if m.get('mm_proj_depth', 1) != 2:
        raise ValueError('transformers\' LlavaForConditionalGeneration has a '
                         'two-layer projector; only mm_proj_depth=2 (LLaVA-'
                         f'1.5) exports, got {m.get("mm_proj_depth", 1)}.')
    ve = m.vision_encoder
    arch = vision_arch(cfg)
    act = ve.get('layer_cfgs', {}).get('act_cfg', {}).get('type',
                                                          'QuickGELU')
    text = lang_config(m.lang_encoder.get('name_or_path'),
                       m.lang_encoder.get('config'))
    text_vocab = text.vocab_size
    text.vocab_size = hf_vocab_size(text_vocab)
    image_id, pad_id = token_ids or (text_vocab, text_vocab + 1)
    if not (0 <= image_id < text.vocab_size and 0 <= pad_id <
            text.vocab_size):
        raise ValueError(
            f'Token ids {image_id} (<image>) and {pad_id} (padding) do not '
            f'fit the exported vocabulary of {text.vocab_size}; the '
            'tokenizer is larger than the language model\'s vocabulary.')
    text.pad_token_id = pad_id
    vision = CLIPVisionConfig(
        hidden_size=arch['embed_dims'], num_hidden_layers=arch['num_layers'],
        num_attention_heads=arch['num_heads'],
        intermediate_size=arch['feedforward_channels'],
        image_size=ve.img_size, patch_size=ve.patch_size,
        hidden_act='quick_gelu' if act.endswith('QuickGELU') else 'gelu',
        layer_norm_eps=ve.get('norm_cfg', {}).get('eps', 1e-5),
        projection_dim=arch['embed_dims'])
    common = dict(
        vision_config=vision, text_config=text, image_token_id=image_id,
        vision_feature_layer=m.get('mm_vision_select_layer', -2),
        vision_feature_select_strategy='default',
        projector_hidden_act='gelu', pad_token_id=pad_id)
    if m.get('image_aspect_ratio', 'pad') != 'anyres':
        config = LlavaConfig(**common)
    elif m.get('mm_patch_merge_type', 'spatial_unpad') != 'spatial_unpad':
        raise ValueError(
            'transformers\' LlavaNextForConditionalGeneration lays out '
            'anyres features as mm_patch_merge_type="spatial_unpad" only; '
            f'got {m.mm_patch_merge_type!r}.')
    else:
        config = LlavaNextConfig(
            image_grid_pinpoints=[list(p) for p in m.image_grid_pinpoints],
            **common)
    config.dtype = dtype
    return config


def vision_arch(cfg: Config) -> dict:
    """``embed_dims``, ``num_layers``, ... of a config's vision tower."""
    from llava_mm.models.vision_transformer import VisionTransformer
    arch = cfg.model.vision_encoder.arch
    return arch if isinstance(arch, dict) else \
        VisionTransformer.arch_zoo[arch]


def complete_vision_tower(cfg: Config, state: Dict[str, torch.Tensor],
                          source: str) -> Dict[str, torch.Tensor]:
    """The checkpoint's tensors plus every block of the vision tower.

    A checkpoint without a tower takes it from the config's
    ``vision_encoder.pretrained`` file (all its blocks). Blocks after the
    one LLaVA reads (``mm_vision_select_layer``), which llava_mm neither
    builds nor saves, are written as zeros: transformers runs them but
    never reads their output, and a directory without them would be
    reported as missing weights.

    Args:
        cfg (Config): The checkpoint's config.
        state (dict): OpenMMLab-layout tensors.
        source (str): The checkpoint, for errors.

    Returns:
        dict: ``state`` with all ``model.vision_tower.layers.*``.
    """
    from llava_mm.models.loading import vision_state_dict
    from llava_mm.models.vision_transformer import TransformerEncoderLayer
    state = dict(state)
    ve = cfg.model.vision_encoder
    arch = vision_arch(cfg)
    if not any(k.startswith(VISION) for k in state):
        if not ve.get('pretrained'):
            raise KeyError(
                f'{source} holds no vision tower and the config names no '
                'vision file (model.vision_encoder.pretrained).')
        from llava_mm.models.loading import resolve_file
        path = resolve_file(ve.pretrained, 'model.vision_encoder.pretrained')
        state.update({VISION + k: v for k, v in vision_state_dict(
            path, arch['num_layers']).items()})
    have = {int(m.group(1)) for m in (
        re.match(r'^layers\.(\d+)\.', k[len(VISION):])
        for k in state if k.startswith(VISION)) if m}
    select = cfg.model.get('mm_vision_select_layer', -2)
    used = select if select >= 0 else arch['num_layers'] + 1 + select
    if not set(range(used)) <= have:
        raise KeyError(
            f'{source} lacks vision blocks {sorted(set(range(used)) - have)}'
            ' that the model reads; it does not belong to this config.')
    dtype = next(iter(state.values())).dtype
    with torch.device('meta'):
        block = TransformerEncoderLayer(
            arch['embed_dims'], arch['num_heads'],
            arch['feedforward_channels'], 1e-5, 'QuickGELU')
    for i in sorted(set(range(arch['num_layers'])) - have):
        state.update({f'{VISION}layers.{i}.{k}': torch.zeros(
            v.shape, dtype=dtype) for k, v in block.state_dict().items()})
    return state


def export_llava_hf(cfg: Config, checkpoint: str, out_dir: str,
                    shard_bytes: int = 1 << 30,
                    token_ids: Optional[Tuple[int, int]] = None) -> str:
    """Write the llava-hf directory holding a checkpoint's weights.

    Args:
        cfg (Config): The checkpoint's config (see :func:`llava_hf_config`).
        checkpoint (str): OpenMMLab-layout file; without a vision tower
            (``model.vision_tower.*``) the config's vision file gives it
            (:func:`complete_vision_tower`).
        out_dir (str): Output directory (``config.json``,
            ``model-*.safetensors`` and their index).
        shard_bytes (int): Shard size.
        token_ids (tuple[int, int], optional): See :func:`llava_hf_config`.

    Returns:
        str: ``out_dir``, loadable with
        ``LlavaForConditionalGeneration.from_pretrained`` (or
        ``LlavaNextForConditionalGeneration`` for anyres). The tokenizer
        and processor are written by
        :func:`~llava_mm.converters.hf_processor.save_llava_hf_processor`.
    """
    from safetensors.torch import save_file
    state = complete_vision_tower(cfg, read_state_dict(checkpoint),
                                  checkpoint)
    dtype = next(iter(state.values())).dtype
    config = llava_hf_config(cfg, dtype, token_ids)
    vocab = config.text_config.vocab_size
    os.makedirs(out_dir, exist_ok=True)
    config.save_pretrained(out_dir)

    c = config.vision_config.hidden_size
    post = [(HF_VISION + 'post_layernorm.weight', torch.ones(c, dtype=dtype)),
            (HF_VISION + 'post_layernorm.bias', torch.zeros(c, dtype=dtype))]

    def tensors():
        for k, t in state.items():
            yield from to_llava_hf(k, t, vocab)
        yield from post

    weight_map, shard, size, n = {}, {}, 0, 0

    def flush():
        nonlocal shard, size, n
        name = f'model-{n:05d}.safetensors'
        save_file({k: v.contiguous() for k, v in shard.items()},
                  osp.join(out_dir, name), metadata={'format': 'pt'})
        weight_map.update({k: name for k in shard})
        shard, size, n = {}, 0, n + 1

    for k, t in tensors():
        if size and size + t.nbytes > shard_bytes:
            flush()
        shard[k] = t
        size += t.nbytes
    flush()
    total = sum(t.nbytes for t in state.values())
    with open(osp.join(out_dir, 'model.safetensors.index.json'), 'w') as f:
        json.dump(dict(metadata=dict(total_size=total),
                       weight_map=weight_map), f, indent=1)
    return out_dir


def llava_hf_input_ids(ours, prompts: Sequence[str],
                       n_patches: Union[int, Sequence[int]],
                       image_token_id: int,
                       pad_id: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """The same prompts as llava-hf input ids (image token expanded).

    Args:
        ours (Llava): Tokenises exactly as our model does.
        prompts (Sequence[str]): Questions.
        n_patches (int | Sequence[int]): Image tokens per image, or for
            each prompt (LLaVA-NeXT: they depend on the image size).
        image_token_id (int): llava-hf's ``<image>`` id.
        pad_id (int): Padding id (left padding).

    Returns:
        tuple: ``input_ids`` and ``attention_mask``, (B, L).
    """
    if isinstance(n_patches, int):
        n_patches = [n_patches] * len(prompts)
    seqs = []
    for p, n in zip(prompts, n_patches):
        ids = ours.tokenize_prompt(ours.format_prompt(p))
        cut = ids.index(IMAGE_TOKEN_INDEX)
        seqs.append(ids[:cut] + [image_token_id] * n + ids[cut + 1:])
    L = max(map(len, seqs))
    input_ids = torch.full((len(seqs), L), pad_id)
    mask = torch.zeros(len(seqs), L, dtype=torch.long)
    for i, s in enumerate(seqs):
        input_ids[i, L - len(s):] = torch.tensor(s)
        mask[i, L - len(s):] = 1
    return input_ids, mask
