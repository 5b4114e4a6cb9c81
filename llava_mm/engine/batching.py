"""How evaluation batches are formed: a batch size and loader workers per
device, and samples grouped by prompt length so that a batch carries little
padding.

A sample's prediction does not depend on the other samples of its batch
(left padding is masked; tests/test_parity.py), so neither choice changes
any output: predictions are stored by dataset index.
"""
from typing import List, Optional, Sequence

import torch

# Batch sizes tried on an accelerator, largest first.
GPU_BATCH_SIZES = (64, 32, 16, 8, 4, 2, 1)
CPU_BATCH_SIZE = 8
# Share of the free accelerator memory the caches of a batch may take.
MEMORY_SHARE = 0.5
# Loader processes on an accelerator (decoding and resizing images while
# the device generates). On a CPU the images are read in the main process:
# workers would take cores from the model's threads.
GPU_NUM_WORKERS = 2
# Positions planned for a sample's text (prompt and answer) besides its
# image's.
TEXT_POSITIONS = 448


def max_positions(model: torch.nn.Module) -> int:
    """Positions of the longest sample to plan for: the most image
    positions one image can take (LLaVA-NeXT: an image of the largest
    pinpoint, whose tiles need no unpadding) plus :data:`TEXT_POSITIONS`.

    Args:
        model (Llava): The model.

    Returns:
        int: Positions.
    """
    anyres = getattr(model, 'anyres', None)
    sizes = [None] if anyres is None else [tuple(p) for p in
                                           anyres.pinpoints]
    return max(model.num_image_tokens(s) for s in sizes) + TEXT_POSITIONS


def cache_bytes_per_sample(model: torch.nn.Module, positions: int) -> int:
    """Key/value bytes of one sample of ``positions`` positions.

    Args:
        model (Llava): The model.
        positions (int): Prompt (image included) plus generated tokens.

    Returns:
        int: Bytes of the cache of every decoder layer.
    """
    cfg = model.lang_encoder.config
    heads = getattr(cfg, 'num_key_value_heads', None) or \
        cfg.num_attention_heads
    head_dim = getattr(cfg, 'head_dim', None) or \
        cfg.hidden_size // cfg.num_attention_heads
    item = model.lang_encoder.get_input_embeddings().weight.element_size()
    return 2 * cfg.num_hidden_layers * heads * head_dim * item * positions


def auto_batch_size(model: torch.nn.Module,
                    positions: Optional[int] = None) -> int:
    """The evaluation batch size for the model's device.

    On a CUDA device: the largest of :data:`GPU_BATCH_SIZES` whose caches
    of ``positions`` positions (default: :func:`max_positions`) take at
    most :data:`MEMORY_SHARE` of the
    free memory (the rest is for the prompt pass's activations). On a CPU:
    :data:`CPU_BATCH_SIZE` (bf16 matrix units are fed well by batches of
    8, and larger batches only delay the first results).

    Args:
        model (Llava): A loaded model.
        positions (int, optional): Positions per sample to plan for.

    Returns:
        int: The batch size.
    """
    device = next(model.parameters()).device
    if device.type != 'cuda':
        return CPU_BATCH_SIZE
    free, _ = torch.cuda.mem_get_info(device)
    per_sample = cache_bytes_per_sample(model, positions or
                                        max_positions(model))
    for size in GPU_BATCH_SIZES:
        if size * per_sample <= MEMORY_SHARE * free:
            return size
    return 1


def resolve_batch_size(batch_size, model: torch.nn.Module) -> int:
    """``'auto'`` -> :func:`auto_batch_size`; a number is checked.

    Args:
        batch_size (int | str): The dataloader's ``batch_size``.
        model (Llava): The loaded model.

    Returns:
        int: The batch size to use.
    """
    if batch_size == 'auto':
        return auto_batch_size(model)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"test_dataloader.batch_size={batch_size!r}: use "
                         "a positive integer or 'auto'.")
    return batch_size


def resolve_num_workers(num_workers, model: torch.nn.Module) -> int:
    """``'auto'`` -> 0 on a CPU, :data:`GPU_NUM_WORKERS` on an accelerator.

    Args:
        num_workers (int | str): The dataloader's ``num_workers``.
        model (Llava): The loaded model.

    Returns:
        int: Loader processes.
    """
    if num_workers == 'auto':
        on_cpu = next(model.parameters()).device.type == 'cpu'
        return 0 if on_cpu else GPU_NUM_WORKERS
    if not isinstance(num_workers, int) or num_workers < 0:
        raise ValueError(f"test_dataloader.num_workers={num_workers!r}: use "
                         "a non-negative integer or 'auto'.")
    return num_workers


def prompt_lengths(dataset, indices: Sequence[int],
                   tokenizer=None) -> List[int]:
    """The length of each sample's question (tokens, else characters).

    Args:
        dataset: The test dataset (``get_data_info`` per index).
        indices (Sequence[int]): Samples to measure.
        tokenizer (optional): Counts tokens when given.

    Returns:
        list[int]: One length per index; 0 without a question (captions).
    """
    texts = [str(dataset.get_data_info(i).get('question') or '')
             for i in indices]
    if tokenizer is None or not any(texts):
        return [len(t) for t in texts]
    return [len(ids) for ids in tokenizer(texts)['input_ids']]


def group_by_length(indices: Sequence[int], lengths: Sequence[int]
                    ) -> List[int]:
    """``indices`` ordered longest prompt first (a stable sort).

    Consecutive samples then have similar lengths, so each batch pads
    little; the longest batch comes first, so memory runs out at once if
    it does at all.

    Args:
        indices (Sequence[int]): Dataset indices.
        lengths (Sequence[int]): Their prompt lengths.

    Returns:
        list[int]: The same indices, reordered.
    """
    order = sorted(range(len(indices)), key=lambda k: -lengths[k])
    return [indices[k] for k in order]

