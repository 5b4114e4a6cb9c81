"""Builders for the tokenizer and the language model from config dicts.

They wrap transformers' ``AutoTokenizer`` and ``AutoModelForCausalLM`` so that
the config keeps mmpretrain's field names (``type='AutoTokenizer',
name_or_path=...``) and so that a name that cannot be fetched (offline, a typo)
fails with one paragraph saying what to do instead of a hub traceback
(:mod:`llava_mm.utils.hub`: at once when the hub does not answer).
"""
from typing import Optional

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from llava_mm.ops.cpu.attention import ATTN_IMPLEMENTATION
from llava_mm.registry import MODELS, TOKENIZER
from llava_mm.utils.errors import WeightsUnavailableError  # noqa: F401
from llava_mm.utils.hub import from_pretrained


def _tokenizer(name_or_path: str, **kwargs):
    return from_pretrained(AutoTokenizer.from_pretrained, name_or_path,
                           'tokenizer', 'model.tokenizer.name_or_path',
                           **kwargs)


TOKENIZER.register_module(name='AutoTokenizer', module=_tokenizer)


def lang_config(name_or_path: Optional[str] = None,
                config: Optional[dict] = None):
    """Resolve a language-model config.

    Args:
        name_or_path (str, optional): Hub name or directory with a
            ``config.json``.
        config (dict, optional): Inline config (``model_type`` plus fields);
            with ``name_or_path`` it overrides the fetched fields.

    Returns:
        transformers.PretrainedConfig: The config.
    """
    config = dict(config or {})
    if name_or_path is None:
        if 'model_type' not in config:
            raise ValueError('lang_encoder needs `name_or_path` or an inline '
                             '`config` with a `model_type`.')
        return AutoConfig.for_model(**config)
    return from_pretrained(AutoConfig.from_pretrained, name_or_path,
                           'language-model config',
                           'model.lang_encoder.name_or_path', **config)


def _causal_lm(name_or_path: Optional[str] = None,
               config: Optional[dict] = None,
               attn_implementation: str = ATTN_IMPLEMENTATION,
               load_pretrained: bool = False,
               dtype: Optional[torch.dtype] = None):
    """Build a causal LM; weights come from the LLaVA checkpoint later.

    Args:
        name_or_path (str, optional): Hub name or directory.
        config (dict, optional): Inline config or overrides.
        attn_implementation (str): ``'llava_mm_sdpa'`` (default: SDPA, with
            matmul attention for decode steps on CPU, see
            :mod:`~llava_mm.ops.cpu.attention`), ``'sdpa'``, ``'eager'``
            or ``'flash_attention_2'``.
        load_pretrained (bool): Load the LM's own weights (to start training
            from a base LLM). Defaults to False: the LLaVA file has them.
        dtype (torch.dtype, optional): Parameter dtype.

    Returns:
        transformers.PreTrainedModel: The causal LM.
    """
    cfg = lang_config(name_or_path, config)
    if load_pretrained:
        return from_pretrained(
            AutoModelForCausalLM.from_pretrained, name_or_path,
            'language-model weights', 'model.lang_encoder.name_or_path',
            config=cfg, dtype=dtype, attn_implementation=attn_implementation)
    return AutoModelForCausalLM.from_config(
        cfg, dtype=dtype, attn_implementation=attn_implementation)


MODELS.register_module(name='AutoModelForCausalLM', module=_causal_lm)
