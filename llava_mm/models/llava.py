"""The LLaVA model: CLIP ViT -> projector -> LLaMA, in mmpretrain's layout.

Submodule paths match the OpenMMLab checkpoints, so their state dicts load
with no renaming::

    model.vision_tower.*                   VisionTransformer (OpenMMLab keys)
    model.lang_encoder.model.*             transformers LlamaModel
    model.lang_encoder.model.mm_projector  Linear (v1) / Linear-GELU-Linear
    model.lang_encoder.model.image_newline LLaVA-NeXT's row end (anyres)
    model.lang_encoder.lm_head             output head

The prompt is cut at ``<image>``; every text chunk is tokenised on its own
(the first one with BOS), as the official ``tokenizer_image_token`` does, and
the image's patch features are spliced in where ``<image>`` stood. With
``image_aspect_ratio='anyres'`` (LLaVA-NeXT) each image comes as tiles and
its features are laid out by :class:`~llava_mm.models.anyres.AnyRes`.
"""
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample
from torch import nn

from llava_mm.constants import (
    CAPTION_PROMPT,
    IGNORE_INDEX,
    IMAGE_TOKEN,
    IMAGE_TOKEN_INDEX,
)
from llava_mm.conversation import prompt_templates
from llava_mm.generation.engine import GenerationEngine, attach_engine
from llava_mm.registry import MODELS, TOKENIZER
from llava_mm.utils.generation_args import check_generation_cfg

from .anyres import build_anyres, image_newline
from .builders import _causal_lm  # noqa: F401  (registers the builders)
from .data_preprocessor import build_data_preprocessor
from .projector import build_projector
from .prompting import PromptMixin
from .sequence import build_multimodal_batch


class LlavaModules(nn.Module):
    """Holds the submodules at the checkpoint's key paths."""

    def __init__(self, vision_tower: nn.Module, lang_encoder: nn.Module,
                 projector: nn.Module) -> None:
        super().__init__()
        self.vision_tower = vision_tower
        self.lang_encoder = lang_encoder
        self.lang_encoder.model.add_module('mm_projector', projector)


@MODELS.register_module()
class Llava(PromptMixin, BaseModel):
    """LLaVA for captioning and VQA, trainable, faithful to the official one.

    Args:
        vision_encoder (dict): Config of the vision tower
            (:class:`VisionTransformer`).
        lang_encoder (dict): Config of the language model
            (``type='AutoModelForCausalLM', name_or_path=...`` and/or
            ``config=dict(model_type='llama', ...)``).
        tokenizer (dict): Config of the tokenizer.
        mm_hidden_size (int): Width of the vision features.
        prompt_tmpl (str, optional): Prompt with one ``<image>`` and
            optionally ``{question}``; defaults to ``conv_template``'s.
        task (str): ``'caption'`` or ``'vqa'``.
        use_im_patch (bool): Add ``<im_patch>`` to the tokenizer (old LLaVA
            checkpoints). Defaults to False.
        use_im_start_end (bool): Add ``<im_start>``/``<im_end>`` to the
            tokenizer (LLaVA v1). Defaults to False.
        mm_vision_select_layer (int): Which ViT hidden state to read, as in
            the official LLaVA (-2: the penultimate block's output). Blocks
            after it are neither built nor run. Defaults to -2.
        mm_proj_depth (int): Projector depth. Defaults to 1.
        image_aspect_ratio (str): ``'anyres'`` (LLaVA-NeXT: tiled images,
            see :mod:`~llava_mm.models.anyres`), or ``'pad'``/``'square'``
            (one tower input per image; the pipeline pads or squashes).
            Defaults to ``'pad'``.
        image_grid_pinpoints (list, optional): anyres grid resolutions,
            ``[[height, width], ...]``, as the pipeline's ``AnyResTiles``.
        mm_patch_merge_type (str): anyres feature layout,
            ``'spatial_unpad'`` (LLaVA-1.6) or ``'flat'``.
        generation_cfg (dict): Defaults for ``generate``.
        caption_prompt (str): The question put in ``{question}`` for
            captioning when none is given.
        turn_tmpl (str, optional): A later user turn of a multi-turn
            conversation (training or chat), put right after the previous
            answer's EOS; defaults to ``conv_template``'s
            (``'USER: {question} ASSISTANT:'`` for ``vicuna_v1``).
        conv_template (str, optional): The conversation template of
            :mod:`llava_mm.conversation` the prompts come from
            (``'vicuna_v1'``, ``'llava_v1'``, ``'mistral_instruct'``).
        question_suffix (str): Text after every question, by name
            (``'short_answer'``: LLaVA-1.5's VQA format). Defaults to none.
        freeze_vision (bool): Freeze the vision tower. Defaults to True.
        freeze_projector (bool): Freeze the projector. Defaults to False.
        freeze_lm (bool): Freeze the language model. Defaults to False.
        load_lang_pretrained (bool): Load the LM's own weights at build.
        data_preprocessor (dict, optional): Defaults to
            :class:`MultiModalDataPreprocessor`.
        init_cfg (dict, optional): mmengine init config.
    """

    support_tasks = ('caption', 'vqa')

    def __init__(self,
                 vision_encoder: dict,
                 lang_encoder: dict,
                 tokenizer: dict,
                 mm_hidden_size: int,
                 prompt_tmpl: Optional[str] = None,
                 task: str = 'caption',
                 use_im_patch: bool = False,
                 use_im_start_end: bool = False,
                 mm_vision_select_layer: int = -2,
                 mm_proj_depth: int = 1,
                 image_aspect_ratio: str = 'pad',
                 image_grid_pinpoints: Optional[list] = None,
                 mm_patch_merge_type: str = 'spatial_unpad',
                 generation_cfg: Optional[dict] = None,
                 caption_prompt: str = CAPTION_PROMPT,
                 turn_tmpl: Optional[str] = None,
                 conv_template: Optional[str] = None,
                 question_suffix: str = '',
                 freeze_vision: bool = True,
                 freeze_projector: bool = False,
                 freeze_lm: bool = False,
                 load_lang_pretrained: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            init_cfg=init_cfg,
            data_preprocessor=build_data_preprocessor(data_preprocessor))
        if task not in self.support_tasks:
            raise ValueError(f'Unsupported task {task!r}; use one of '
                             f'{self.support_tasks}.')
        prompt_tmpl, turn_tmpl = prompt_templates(
            conv_template, question_suffix, prompt_tmpl, turn_tmpl)
        if prompt_tmpl.count(IMAGE_TOKEN) != 1:
            raise ValueError(
                f'prompt_tmpl must contain "{IMAGE_TOKEN}" exactly once (it '
                'marks where the image features go); got '
                f'{prompt_tmpl.count(IMAGE_TOKEN)} in {prompt_tmpl!r}.')
        self.task = task
        self.prompt_tmpl = prompt_tmpl
        self.caption_prompt = caption_prompt
        if '{question}' not in turn_tmpl or IMAGE_TOKEN in turn_tmpl:
            raise ValueError(
                f'turn_tmpl must hold "{{question}}" and no "{IMAGE_TOKEN}", '
                f'got {turn_tmpl!r}.')
        self.turn_tmpl = turn_tmpl
        # How generate runs on the device (llava_mm.generation.engine): set
        # by init_model; a model built otherwise (a training Runner) gets
        # 'auto' without compiling or kernels at its first generate.
        self.engine: Optional[GenerationEngine] = None
        self.generation_cfg = dict(generation_cfg or {})
        self.mm_vision_select_layer = mm_vision_select_layer

        self.tokenizer = TOKENIZER.build(tokenizer)
        extra = (['<im_patch>'] if use_im_patch else []) + \
            (['<im_start>', '<im_end>'] if use_im_start_end else [])
        if extra:
            self.tokenizer.add_tokens(extra, special_tokens=True)

        vision_tower = MODELS.build(
            dict(vision_encoder, select_layer=mm_vision_select_layer))
        self.anyres = build_anyres(image_aspect_ratio, image_grid_pinpoints,
                                   mm_patch_merge_type, vision_tower)

        lang_encoder = dict(lang_encoder)
        lang_encoder.setdefault('load_pretrained', load_lang_pretrained)
        lm = MODELS.build(lang_encoder)
        # Grow the vocabulary only for the tokens LLaVA adds (v1); a
        # tokenizer that already knows extra tokens (llava-hf's <image>,
        # <pad>) does not change the checkpoint's vocabulary size.
        if extra:
            need = max(self.tokenizer.convert_tokens_to_ids(extra)) + 1
            if need > lm.config.vocab_size:
                lm.resize_token_embeddings(need, mean_resizing=False)
        projector = build_projector(mm_hidden_size, lm.config.hidden_size,
                                    mm_proj_depth)
        self.model = LlavaModules(vision_tower, lm, projector)
        if self.anyres is not None and self.anyres.uses_newline:
            lm.model.image_newline = image_newline(lm.config.hidden_size)
        self.set_trainable(freeze_vision, freeze_projector, freeze_lm)

    def set_trainable(self, freeze_vision: bool, freeze_projector: bool,
                      freeze_lm: bool) -> None:
        """Set ``requires_grad`` per part (LLaVA stage-1/stage-2 recipes).

        Args:
            freeze_vision (bool): Freeze the vision tower.
            freeze_projector (bool): Freeze the projector.
            freeze_lm (bool): Freeze the language model (not the projector).
        """
        self.freeze_vision = freeze_vision
        self.model.vision_tower.requires_grad_(not freeze_vision)
        self.model.lang_encoder.requires_grad_(not freeze_lm)
        self.projector.requires_grad_(not freeze_projector)
        if self.image_newline is not None:  # trained with the projector
            self.image_newline.requires_grad_(not freeze_projector)

    def init_weights(self) -> None:
        """Random init of the parts transformers does not initialise."""
        self.model.vision_tower.init_weights()

    @property
    def projector(self) -> nn.Module:
        return self.model.lang_encoder.model.mm_projector

    @property
    def lang_encoder(self) -> nn.Module:
        return self.model.lang_encoder

    @property
    def image_newline(self) -> Optional[nn.Parameter]:
        return getattr(self.lang_encoder.model, 'image_newline', None)

    def num_image_tokens(self, image_size: Optional[tuple] = None) -> int:
        """Image positions in a prompt (anyres: for an (H, W) image)."""
        if self.anyres is None:
            return self.model.vision_tower.num_patches
        return self.anyres.num_tokens(image_size)

    # ----------------------------------------------------------------- image
    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """Projected patch features.

        Args:
            images (torch.Tensor): (B, 3, H, W) normalised images.

        Returns:
            torch.Tensor: (B, N, D_lm), CLS dropped.
        """
        tower = self.model.vision_tower
        dtype = tower.cls_token.dtype
        with torch.set_grad_enabled(torch.is_grad_enabled()
                                    and not self.freeze_vision):
            feats = tower(images.to(dtype))[:, 1:]  # (B, N, C_vis)
        lm_dtype = self.lang_encoder.get_input_embeddings().weight.dtype
        return self.projector(feats.to(lm_dtype))

    # --------------------------------------------------------------- forward
    def forward(self,
                images: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                mode: str = 'loss'):
        """mmengine's entry point.

        Args:
            images (torch.Tensor): (B, 3, H, W) normalised images.
            data_samples (list[DataSample], optional): Questions, targets.
            mode (str): ``'loss'``, ``'predict'`` or ``'tensor'`` (logits).

        Returns:
            dict | list[DataSample] | torch.Tensor: Losses, predictions or
            logits (B, L, V).
        """
        if mode == 'loss':
            return self.loss(images, data_samples)
        if mode == 'predict':
            return self.predict(images, data_samples)
        if mode == 'tensor':
            batch = self.build_batch(images, data_samples)
            return self.lang_encoder(
                inputs_embeds=batch['inputs_embeds'],
                attention_mask=batch['attention_mask'],
                position_ids=batch['position_ids']).logits
        raise RuntimeError(f'Invalid mode "{mode}".')

    def build_batch(self,
                    images: torch.Tensor,
                    data_samples: Optional[List[DataSample]],
                    with_targets: bool = False,
                    padding_side: str = 'left') -> Dict[str, torch.Tensor]:
        """Prompt (and target) ids plus image features -> padded embeddings.

        Args:
            images (torch.Tensor): (B, 3, H, W).
            data_samples (list[DataSample], optional): Per-sample questions.
            with_targets (bool): Append target ids and build labels.
            padding_side (str): ``'left'`` for generation, ``'right'`` for
                training.

        Returns:
            dict: ``inputs_embeds`` (B, L, D), ``attention_mask`` (B, L),
            ``position_ids`` (B, L) and, with targets, ``labels`` (B, L).
        """
        samples = data_samples or [None] * images.shape[0]
        prompts, targets, labels = self.batch_ids(samples, with_targets)
        if self.anyres is None:
            if images.ndim != 4:
                raise ValueError(
                    f'Images of shape {tuple(images.shape)}: tiles (from '
                    'AnyResTiles) need a model with image_aspect_ratio='
                    '"anyres"; use the test pipeline of this model\'s config.')
            image_feats = self.encode_images(images)
        else:  # (B, tiles, 3, H, W): a list of (N_b, D), N_b per image
            image_feats = self.anyres.encode(self.encode_images, images,
                                             samples, self.image_newline)
        return build_multimodal_batch(
            self.lang_encoder.get_input_embeddings(), prompts, image_feats,
            IMAGE_TOKEN_INDEX, targets=targets, target_labels=labels,
            padding_side=padding_side,
            max_positions=getattr(self.lang_encoder.config,
                                  'max_position_embeddings', None))

    def loss(self, images: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """Causal-LM loss on the answer tokens (and EOS) only.

        Args:
            images (torch.Tensor): (B, 3, H, W).
            data_samples (list[DataSample]): With ``gt_caption``,
                ``gt_answer`` (and ``question``) or a ``conversation``.

        Returns:
            dict: ``{'loss': tensor}``.
        """
        batch = self.build_batch(images, data_samples, with_targets=True,
                                 padding_side='right')
        hidden = self.lang_encoder.get_decoder()(
            inputs_embeds=batch['inputs_embeds'],
            attention_mask=batch['attention_mask'],
            position_ids=batch['position_ids'],
            use_cache=False).last_hidden_state  # (B, L, D)
        # Position t predicts token t + 1; only labelled targets go through
        # the LM head (the same mean cross-entropy as the model's own loss,
        # without the logits of every prompt and image position).
        labels = batch['labels'][:, 1:]  # (B, L - 1)
        keep = labels != IGNORE_INDEX
        logits = self.lang_encoder.get_output_embeddings()(
            hidden[:, :-1][keep])  # (T, V)
        return {'loss': F.cross_entropy(logits.float(), labels[keep])}

    @torch.no_grad()
    def generate(self,
                 images: torch.Tensor,
                 data_samples: Optional[List[DataSample]] = None,
                 **generation_cfg) -> torch.Tensor:
        """Generate token ids (prompt and image prefilled in one pass).

        Args:
            images (torch.Tensor): (B, 3, H, W).
            data_samples (list[DataSample], optional): ``question`` per
                sample for VQA or custom caption prompts.
            **generation_cfg: Overrides of ``generation_cfg``, any argument
                of transformers' ``generate``.

        Returns:
            torch.Tensor: (B, T) new token ids, padded after EOS.
        """
        cfg = {**self.generation_cfg, **generation_cfg}
        cfg.setdefault('max_new_tokens', 32)
        cfg.setdefault('do_sample', False)
        check_generation_cfg(cfg)
        tok = self.tokenizer
        cfg.setdefault('eos_token_id', tok.eos_token_id)
        cfg.setdefault('pad_token_id', tok.pad_token_id
                       if tok.pad_token_id is not None else tok.eos_token_id)
        batch = self.build_batch(images, data_samples)
        engine = self.engine or attach_engine(
            self, dict(compile=False), kernels=False)
        return engine.generate(self.lang_encoder, batch['inputs_embeds'],
                               batch['attention_mask'], cfg)

    def predict(self,
                images: torch.Tensor,
                data_samples: Optional[List[DataSample]] = None,
                **generation_cfg) -> List[DataSample]:
        """Generate captions or answers.

        Args:
            images (torch.Tensor): (B, 3, H, W).
            data_samples (list[DataSample], optional): ``question`` per
                sample for VQA or custom caption prompts.
            **generation_cfg: Overrides of ``generation_cfg``.

        Returns:
            list[DataSample]: With ``pred_caption`` or ``pred_answer`` set.
        """
        out = self.generate(images, data_samples, **generation_cfg)
        texts = [t.strip() for t in self.tokenizer.batch_decode(
            out, skip_special_tokens=True)]
        if data_samples is None:
            data_samples = [DataSample() for _ in texts]
        field = 'pred_caption' if self.task == 'caption' else 'pred_answer'
        for text, sample in zip(texts, data_samples):
            sample.set_field(text, field)
        return data_samples

    def extra_repr(self) -> str:
        return (f'task={self.task!r}, '
                f'mm_vision_select_layer={self.mm_vision_select_layer}')
