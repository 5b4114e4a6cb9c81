"""Tiny, offline stand-ins for the real models: tokenizers, configs, weights.

Used by the tests, the benchmark's smoke mode and the shipped small model. A
tiny model has exactly the real architecture classes and key layout, only
smaller.
"""
import copy
from typing import Optional

from llava_mm.constants import VQA_SHORT_ANSWER_SUFFIX
from llava_mm.conversation import VICUNA_V1
from llava_mm.utils.tokenizer import DEFAULT_CORPUS, train_tokenizer  # noqa: F401


def tiny_text_config(vocab_size: int, **overrides) -> dict:
    """A tiny LLaMA config dict (``model_type='llama'``)."""
    cfg = dict(model_type='llama', vocab_size=vocab_size, hidden_size=64,
               intermediate_size=128, num_hidden_layers=2,
               num_attention_heads=4, num_key_value_heads=4,
               max_position_embeddings=512, rms_norm_eps=1e-5,
               rope_theta=10000.0, bos_token_id=1, eos_token_id=2,
               tie_word_embeddings=False)
    cfg.update(overrides)
    return cfg


def tiny_vision_arch(**overrides) -> dict:
    """A tiny ViT arch for :class:`VisionTransformer`."""
    arch = dict(embed_dims=32, num_layers=3, num_heads=4,
                feedforward_channels=64)
    arch.update(overrides)
    return arch


def tiny_llava_model_cfg(tokenizer_dir: str,
                         vocab_size: int,
                         img_size: int = 28,
                         patch_size: int = 14,
                         mm_proj_depth: int = 2,
                         task: str = 'caption',
                         text_overrides: Optional[dict] = None,
                         vision_overrides: Optional[dict] = None) -> dict:
    """A ``model`` config dict for a tiny LLaVA-1.5-style model.

    Args:
        tokenizer_dir (str): Tokenizer directory.
        vocab_size (int): LM vocabulary size.
        img_size (int): Image size.
        patch_size (int): Patch size.
        mm_proj_depth (int): Projector depth.
        task (str): ``'caption'`` or ``'vqa'``.
        text_overrides (dict, optional): LLaMA config overrides.
        vision_overrides (dict, optional): ViT arch overrides.

    Returns:
        dict: The ``model`` field of a config.
    """
    arch = tiny_vision_arch(**(vision_overrides or {}))
    suffix = VQA_SHORT_ANSWER_SUFFIX if task == 'vqa' else ''
    tmpl = VICUNA_V1.prompt_tmpl(suffix)
    return dict(
        type='Llava',
        tokenizer=dict(type='AutoTokenizer', name_or_path=tokenizer_dir),
        vision_encoder=dict(
            type='VisionTransformer', arch=copy.deepcopy(arch),
            patch_size=patch_size, img_size=img_size, pre_norm=True,
            norm_cfg=dict(type='LN', eps=1e-5),
            layer_cfgs=dict(act_cfg=dict(type='QuickGELU')),
            final_norm=False, out_type='raw'),
        mm_hidden_size=arch['embed_dims'],
        mm_proj_depth=mm_proj_depth,
        mm_vision_select_layer=-2,
        lang_encoder=dict(
            type='AutoModelForCausalLM',
            config=tiny_text_config(vocab_size, **(text_overrides or {}))),
        task=task,
        prompt_tmpl=tmpl,
        turn_tmpl=VICUNA_V1.turn_tmpl(suffix),
        generation_cfg=dict(max_new_tokens=20),
        data_preprocessor=dict(type='MultiModalDataPreprocessor'),
    )


def tiny_test_pipeline(img_size: int = 28) -> list:
    """The v1.5 test pipeline at a tiny size."""
    return [
        dict(type='LoadImage'),
        dict(type='PadToSquare'),
        dict(type='CLIPResizeCrop', scale=img_size),
        dict(type='PackInputs',
             meta_keys=['image_id', 'question_id', 'question']),
    ]


def tiny_pinpoints(tile: int) -> list:
    """LLaVA-1.6's grid resolutions (multiples of 336) scaled to ``tile``."""
    return [[tile * h, tile * w] for h, w in
            ((1, 2), (2, 1), (2, 2), (3, 1), (1, 3))]


def tiny_llava_next_model_cfg(tokenizer_dir: str, vocab_size: int,
                              img_size: int = 56, **kwargs) -> dict:
    """A ``model`` config dict for a tiny LLaVA-NeXT (anyres) model.

    Args:
        tokenizer_dir (str): Tokenizer directory.
        vocab_size (int): LM vocabulary size.
        img_size (int): The tower's input (tile) size.
        **kwargs: As for :func:`tiny_llava_model_cfg`.

    Returns:
        dict: The ``model`` field of a config.
    """
    cfg = tiny_llava_model_cfg(tokenizer_dir, vocab_size, img_size=img_size,
                               **kwargs)
    cfg.update(image_aspect_ratio='anyres',
               image_grid_pinpoints=tiny_pinpoints(img_size),
               mm_patch_merge_type='spatial_unpad')
    return cfg


def tiny_anyres_pipeline(img_size: int = 56) -> list:
    """The v1.6 test pipeline at a tiny size."""
    return [
        dict(type='LoadImage'),
        dict(type='AnyResTiles', image_grid_pinpoints=tiny_pinpoints(
            img_size), tile_size=img_size),
        dict(type='PackInputs',
             meta_keys=['image_id', 'question_id', 'question',
                        'image_size']),
    ]
