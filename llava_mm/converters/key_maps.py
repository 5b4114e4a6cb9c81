"""Tensor names of LLaVA in the OpenMMLab and transformers layouts.

One table per part, read in both directions: :mod:`.to_mm` maps transformers
(llava-hf, original LLaVA + CLIP) names to OpenMMLab's, :mod:`.to_llava_hf`
maps them back. ``{}`` in a name stands for a block index.
"""
import re
from typing import Optional, Sequence, Tuple

# Vision tower: (OpenMMLab, transformers CLIP after ``vision_model.``). The
# fused ``attn.qkv``, ``cls_token`` and ``pos_embed`` change shape on the way
# and are handled by the converters themselves.
CLIP_VISION_NAMES = [
    ('patch_embed.projection.', 'embeddings.patch_embedding.'),
    ('pre_norm.', 'pre_layrnorm.'),
    ('layers.{}.ln1.', 'encoder.layers.{}.layer_norm1.'),
    ('layers.{}.ln2.', 'encoder.layers.{}.layer_norm2.'),
    ('layers.{}.attn.proj.', 'encoder.layers.{}.self_attn.out_proj.'),
    ('layers.{}.ffn.layers.0.0.', 'encoder.layers.{}.mlp.fc1.'),
    ('layers.{}.ffn.layers.1.', 'encoder.layers.{}.mlp.fc2.'),
]
CLIP_CLS = ('cls_token', 'embeddings.class_embedding')
CLIP_POS = ('pos_embed', 'embeddings.position_embedding.weight')
# Where llava-hf keeps the CLIP vision model.
HF_VISION = 'vision_tower.vision_model.'

# Language model and projector: (OpenMMLab after ``model.lang_encoder.``,
# llava-hf on disk). Order matters: the projector and LLaVA-NeXT's
# ``image_newline`` before ``model.``.
LLAVA_HF_LM_NAMES = [
    ('model.image_newline', 'image_newline'),  # LLaVA-NeXT
    ('model.mm_projector.0.', 'multi_modal_projector.linear_1.'),
    ('model.mm_projector.2.', 'multi_modal_projector.linear_2.'),
    ('model.', 'language_model.model.'),
    ('lm_head.', 'language_model.lm_head.'),
]
# transformers >= 4.52 renames llava-hf's keys when it loads them; a model
# saved again by it holds these names (renamed name, on-disk name).
HF_RENAMED = [
    ('model.image_newline', 'image_newline'),
    ('model.language_model.model.', 'language_model.model.'),
    ('model.language_model.', 'language_model.model.'),
    ('model.multi_modal_projector.', 'multi_modal_projector.'),
    ('lm_head.', 'language_model.lm_head.'),
]


def _pattern(name: str) -> Tuple[str, str]:
    """A regex matching ``name`` at the start and its replacement form."""
    pattern = '^' + re.escape(name).replace(r'\{\}', r'(\d+)')
    return pattern, name.replace('{}', r'\1')


def rename(key: str, pairs: Sequence[Tuple[str, str]],
           reverse: bool = False) -> Optional[str]:
    """Rename the start of ``key`` by the first pair that matches it.

    Args:
        key (str): The name to map.
        pairs (list[tuple[str, str]]): ``(left, right)`` name prefixes.
        reverse (bool): Map right to left instead of left to right.

    Returns:
        str | None: The new name, or None when no pair matches.
    """
    for left, right in pairs:
        src, dst = (right, left) if reverse else (left, right)
        pattern, _ = _pattern(src)
        _, repl = _pattern(dst)
        if re.match(pattern, key):
            return re.sub(pattern, repl, key, count=1)
    return None

