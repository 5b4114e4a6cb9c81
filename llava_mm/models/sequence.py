"""Splice image features into token sequences and pad them into a batch."""
from typing import Dict, List, Optional, Sequence, Union

import torch
from torch import nn

from llava_mm.constants import IGNORE_INDEX


class ContextLengthError(ValueError):
    """A prompt longer than the model's context.

    Args:
        message (str): The error.
        sample (int): Position of the (first) too long prompt in its batch.
    """

    def __init__(self, message: str, sample: int = 0) -> None:
        super().__init__(message)
        self.sample = sample


def build_multimodal_batch(embed: nn.Embedding,
                           prompts: List[List[int]],
                           image_feats: Union[torch.Tensor,
                                              Sequence[torch.Tensor]],
                           image_index: int,
                           targets: Optional[List[List[int]]] = None,
                           target_labels: Optional[List[List[int]]] = None,
                           padding_side: str = 'left',
                           max_positions: Optional[int] = None
                           ) -> Dict[str, torch.Tensor]:
    """Build padded input embeddings for a batch of one-image prompts.

    Every prompt holds ``image_index`` once; it is replaced by the image's
    feature vectors (N_b of them, the same N for every sample of a plain
    LLaVA, a number per image for LLaVA-NeXT's tiles). Text is embedded in
    one call for the whole batch.

    Args:
        embed (nn.Embedding): The language model's token embedding.
        prompts (list[list[int]]): Prompt ids per sample.
        image_feats (torch.Tensor | Sequence[torch.Tensor]): (B, N, D)
            projected image features, or one (N_b, D) tensor per sample.
        image_index (int): The placeholder id in ``prompts``.
        targets (list[list[int]], optional): Ids to append after each
            prompt; they are the only positions with a label.
        target_labels (list[list[int]], optional): Labels of the
            ``targets`` positions, same lengths, ``IGNORE_INDEX`` where a
            target id is context rather than an answer (the user turns of a
            multi-turn conversation). Defaults to the target ids.
        padding_side (str): ``'left'`` or ``'right'``.
        max_positions (int, optional): The model's context; a longer
            sequence raises.

    Returns:
        dict: ``inputs_embeds`` (B, L, D), ``attention_mask`` (B, L) long,
        ``position_ids`` (B, L) and, with targets, ``labels`` (B, L).
    """
    if padding_side not in ('left', 'right'):
        raise ValueError(f'padding_side must be "left" or "right", got '
                         f'{padding_side!r}.')
    B, D = len(image_feats), image_feats[0].shape[-1]
    if len(prompts) != B:
        raise ValueError(f'{len(prompts)} prompts for {B} images.')
    device = image_feats[0].device
    targets = targets or [[] for _ in prompts]
    target_labels = target_labels or targets
    if [len(t) for t in target_labels] != [len(t) for t in targets]:
        raise ValueError('target_labels must have the lengths of targets.')
    text = [p + t for p, t in zip(prompts, targets)]
    for ids in text:
        if ids.count(image_index) != 1:
            raise ValueError('Each prompt must hold the image placeholder '
                             f'exactly once; found {ids.count(image_index)}.')
    n_image = [f.shape[0] for f in image_feats]
    lengths = [len(ids) - 1 + n for ids, n in zip(text, n_image)]
    L = max(lengths)
    if max_positions is not None and L > max_positions:
        n = n_image[lengths.index(L)]
        raise ContextLengthError(
            f'A prompt takes {L} positions with its {n} image tokens, more '
            f'than the model\'s context of {max_positions}. Shorten it.',
            sample=lengths.index(L))

    # Embed all text ids of the batch in one lookup.
    flat = torch.tensor([i for ids in text for i in ids if i != image_index],
                        dtype=torch.long, device=device)
    text_emb = embed(flat).split([len(ids) - 1 for ids in text])

    dtype = text_emb[0].dtype
    inputs_embeds = image_feats[0].new_zeros(B, L, D, dtype=dtype)
    attention_mask = torch.zeros(B, L, dtype=torch.long, device=device)
    labels = torch.full((B, L), IGNORE_INDEX, dtype=torch.long, device=device)
    for b, ids in enumerate(text):
        cut = ids.index(image_index)
        seq = torch.cat([text_emb[b][:cut], image_feats[b].to(dtype),
                         text_emb[b][cut:]])  # (lengths[b], D)
        start = L - lengths[b] if padding_side == 'left' else 0
        inputs_embeds[b, start:start + lengths[b]] = seq
        attention_mask[b, start:start + lengths[b]] = 1
        n_tgt = len(targets[b])
        if n_tgt:
            end = start + lengths[b]
            labels[b, end - n_tgt:end] = torch.tensor(
                target_labels[b], dtype=torch.long, device=device)
    position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
    out = dict(inputs_embeds=inputs_embeds, attention_mask=attention_mask,
               position_ids=position_ids)
    if any(targets):
        out['labels'] = labels
    return out
