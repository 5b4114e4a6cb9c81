"""The tokenizer, processor and chat template of an exported llava-hf dir.

:func:`save_llava_hf_processor` completes what
:func:`~llava_mm.converters.to_llava_hf.export_llava_hf` writes, so that
``AutoProcessor`` and the model class load the directory as it is:

* the config's tokenizer with ``<image>`` (and ``<pad>``) added, BOS first,
  padding left (:func:`llava_hf_tokenizer`; the exported config names
  these ids);
* ``LlavaProcessor`` with an image processor that pads to a square with the
  mean colour (LLaVA-1.5), or ``LlavaNextProcessor`` with the config's
  ``image_grid_pinpoints`` (anyres);
* a chat template that renders the config's ``prompt_tmpl`` and
  ``turn_tmpl``, so ``apply_chat_template`` gives the prompt llava_mm uses.
"""
from typing import Tuple

from mmengine.config import Config

from llava_mm.constants import IMAGE_TOKEN
from llava_mm.conversation import model_prompt_templates

QUESTION = '{question}'


def _split(tmpl: str, what: str, image: bool) -> Tuple[str, str, str]:
    """``tmpl`` as (before, between image and question, after)."""
    if tmpl.count(QUESTION) != 1:
        raise ValueError(f'The {what} {tmpl!r} must hold "{QUESTION}" once '
                         'to be written as a chat template.')
    before, after = tmpl.split(QUESTION)
    if not image:
        return before, '', after
    head, found, gap = before.partition(IMAGE_TOKEN)
    if not found or gap.strip():
        raise ValueError(
            f'The {what} {tmpl!r} must hold "{IMAGE_TOKEN}" before '
            f'"{QUESTION}", with only white space between, to be written '
            'as a chat template.')
    return head, gap, after


def _jinja(text: str) -> str:
    """A Python string as a Jinja string literal."""
    return "'" + text.replace('\\', '\\\\').replace("'", "\\'").replace(
        '\n', '\\n') + "'"


def chat_template(prompt_tmpl: str, turn_tmpl: str) -> str:
    """A Jinja chat template equal to the model's prompt templates.

    The first user turn is ``prompt_tmpl`` (its image where the message's
    image is), later ones ``turn_tmpl``; an assistant turn is
    ``' ' + answer + eos_token``, as llava_mm's training and chat put EOS
    after each answer.

    Args:
        prompt_tmpl (str): With ``<image>`` and ``{question}``.
        turn_tmpl (str): With ``{question}``.

    Returns:
        str: The template (``messages`` with ``content`` a string or a list
        of ``{'type': 'image'}`` / ``{'type': 'text', 'text': ...}``).
    """
    head, gap, tail = (_jinja(t) for t in _split(prompt_tmpl, 'prompt_tmpl',
                                                 True))
    t_head, _, t_tail = (_jinja(t) for t in _split(turn_tmpl, 'turn_tmpl',
                                                   False))
    return (
        "{%- set ns = namespace(first=true) -%}"
        "{%- for message in messages -%}"
        "{%- if message['content'] is string -%}"
        "{%- set text = message['content'] -%}{%- set images = 0 -%}"
        "{%- else -%}"
        "{%- set text = message['content'] | selectattr('type', 'equalto', "
        "'text') | map(attribute='text') | join('') -%}"
        "{%- set images = message['content'] | selectattr('type', "
        "'equalto', 'image') | list | length -%}"
        "{%- endif -%}"
        "{%- if message['role'] == 'user' -%}"
        f"{{%- if ns.first -%}}{{{{ {head} }}}}"
        f"{{%- for _ in range(images) -%}}{{{{ '{IMAGE_TOKEN}' + {gap} }}}}"
        "{%- endfor -%}"
        f"{{{{ text + {tail} }}}}{{%- set ns.first = false -%}}"
        f"{{%- else -%}}{{{{ {t_head} + text + {t_tail} }}}}{{%- endif -%}}"
        "{%- elif message['role'] == 'assistant' -%}"
        "{{ ' ' + text + eos_token }}"
        "{%- endif -%}"
        "{%- endfor -%}")


def llava_hf_tokenizer(cfg: Config):
    """The config's tokenizer as an exported directory needs it.

    ``<image>`` (and ``<pad>`` when there is no padding token) are added,
    padding goes left, and BOS is put first by the tokenizer itself, as
    llava_mm puts it before every prompt.

    Args:
        cfg (Config): The model config (``model.tokenizer``).

    Returns:
        transformers.PreTrainedTokenizerFast: The tokenizer.
    """
    from tokenizers import processors

    from llava_mm.registry import TOKENIZER
    tok = TOKENIZER.build(cfg.model.tokenizer)
    tok.add_tokens([IMAGE_TOKEN], special_tokens=True)
    if tok.pad_token is None:
        tok.add_special_tokens({'pad_token': '<pad>'})
    tok.padding_side = 'left'
    bos = tok.bos_token
    if bos is not None and tok('a').input_ids[:1] != [tok.bos_token_id]:
        if not tok.is_fast:
            raise ValueError(
                f'The tokenizer {cfg.model.tokenizer.name_or_path} does not '
                'put BOS first and is not a fast tokenizer, which the export '
                'can make do it; use a fast tokenizer.')
        tok.backend_tokenizer.post_processor = processors.TemplateProcessing(
            single=f'{bos} $A', pair=f'{bos} $A $B',
            special_tokens=[(bos, tok.bos_token_id)])
    return tok


def save_llava_hf_processor(cfg: Config, out_dir: str, tokenizer):
    """Write the tokenizer and processor of an exported directory.

    Args:
        cfg (Config): The model config (``vision_encoder``,
            ``data_preprocessor``, templates, anyres fields).
        out_dir (str): The exported directory.
        tokenizer: From :func:`llava_hf_tokenizer` (its ``<image>`` and
            padding ids are the ones the exported config names).

    Returns:
        transformers.ProcessorMixin: The saved processor.
    """
    from transformers import (
        LlavaImageProcessorPil,
        LlavaNextImageProcessorPil,
        LlavaNextProcessor,
        LlavaProcessor,
    )

    from llava_mm.models.data_preprocessor import CLIP_MEAN, CLIP_STD
    m = cfg.model
    size = m.vision_encoder.img_size
    dp = m.get('data_preprocessor') or {}
    kwargs = dict(size={'shortest_edge': size},
                  crop_size={'height': size, 'width': size},
                  image_mean=[v / 255 for v in dp.get('mean', CLIP_MEAN)],
                  image_std=[v / 255 for v in dp.get('std', CLIP_STD)])
    common = dict(tokenizer=tokenizer, patch_size=m.vision_encoder.patch_size,
                  vision_feature_select_strategy='default',
                  num_additional_image_tokens=1,  # the CLS, dropped
                  chat_template=chat_template(*model_prompt_templates(m)))
    if m.get('image_aspect_ratio', 'pad') == 'anyres':
        processor = LlavaNextProcessor(
            image_processor=LlavaNextImageProcessorPil(
                image_grid_pinpoints=[list(p)
                                      for p in m.image_grid_pinpoints],
                **kwargs), **common)
    else:
        processor = LlavaProcessor(
            image_processor=LlavaImageProcessorPil(do_pad=True, **kwargs),
            **common)
    processor.save_pretrained(out_dir)
    return processor
