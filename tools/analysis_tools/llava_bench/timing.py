"""Timed greedy generation for llava_mm and transformers' LLaVA.

Both models go through transformers' ``generate`` loop; a logits processor
that only records the time is called once per step, right after each forward
pass, so one call gives the prefill latency (start of the call to the first
logits: tokenisation, vision tower, projector and the prompt pass) and the
decode rate (the remaining steps).
"""
import statistics
import time
from typing import Callable, Dict, List, Sequence

import torch
from mmpretrain.structures import DataSample
from transformers import LogitsProcessor, LogitsProcessorList

from llava_mm.converters.to_llava_hf import llava_hf_input_ids

# Short-caption instructions of different lengths (the first is LLaVA-1.5's).
CAPTION_PROMPTS = [
    'Provide a one-sentence caption for the provided image.',
    'Describe the image briefly.',
    'Give a one-sentence description of the scene, naming the main objects, '
    'their colours and what the people or animals are doing.',
    'Write a short caption for this picture.',
    'What is happening here? Caption it in a few words.',
    'Summarise the photo in one short sentence for a visually impaired '
    'reader, mentioning where it was taken and the time of day.',
    'Caption it.',
    'Provide a one-sentence caption for the provided image. Write a short '
    'caption for this picture.',
]


class StepTimer(LogitsProcessor):
    """Records ``time.perf_counter()`` at each generation step."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.steps: List[float] = []

    def __call__(self, input_ids: torch.Tensor,
                 scores: torch.Tensor) -> torch.Tensor:
        self.steps.append(time.perf_counter())
        return scores


def make_requests(n: int, img_size: int, seed: int = 0):
    """Random normalised images and caption prompts of mixed lengths.

    Args:
        n (int): Number of requests.
        img_size (int): Image side.
        seed (int): Random seed.

    Returns:
        tuple: ``(images (n, 3, S, S) float32, prompts list[str])``.
    """
    gen = torch.Generator().manual_seed(seed)
    images = torch.randn(n, 3, img_size, img_size, generator=gen)
    prompts = [CAPTION_PROMPTS[i % len(CAPTION_PROMPTS)] for i in range(n)]
    return images, prompts


def greedy_cfg(new_tokens: int, timer: StepTimer) -> dict:
    """Greedy generation of exactly ``new_tokens`` tokens, timed."""
    return dict(max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                do_sample=False, num_beams=1,
                logits_processor=LogitsProcessorList([timer]))


def ours_generate(model, images: torch.Tensor, prompts: Sequence[str],
                  new_tokens: int, timer: StepTimer) -> torch.Tensor:
    """llava_mm: prompts and images in, new token ids out.

    Args:
        model (Llava): Our model.
        images (torch.Tensor): (B, 3, S, S) normalised images.
        prompts (Sequence[str]): One question/instruction per image.
        new_tokens (int): Tokens to generate (EOS ignored).
        timer (StepTimer): Records the steps.

    Returns:
        torch.Tensor: (B, new_tokens) ids.
    """
    samples = [DataSample(metainfo=dict(question=p)) for p in prompts]
    return model.generate(images, samples, **greedy_cfg(new_tokens, timer))


def hf_generate(hf, ours, images: torch.Tensor, prompts: Sequence[str],
                new_tokens: int, timer: StepTimer) -> torch.Tensor:
    """transformers' LLaVA, fed as a llava-hf user would (left padding).

    The ids llava-hf adds after the text vocabulary (``<image>``, padding)
    are suppressed, so both models choose among the same tokens.

    Args:
        hf (LlavaForConditionalGeneration): The reference model.
        ours (Llava): Used only to tokenise identically.
        images, prompts, new_tokens, timer: As :func:`ours_generate`.

    Returns:
        torch.Tensor: (B, new_tokens) ids.
    """
    cfg = hf.config
    text_vocab = cfg.image_token_id
    n_patches = (cfg.vision_config.image_size //
                 cfg.vision_config.patch_size)**2
    input_ids, mask = llava_hf_input_ids(ours, prompts, n_patches, text_vocab,
                                         cfg.pad_token_id)
    input_ids, mask = input_ids.to(images.device), mask.to(images.device)
    tok = ours.tokenizer
    out = hf.generate(
        input_ids=input_ids, attention_mask=mask, pixel_values=images,
        eos_token_id=tok.eos_token_id, pad_token_id=cfg.pad_token_id,
        suppress_tokens=list(range(text_vocab, cfg.text_config.vocab_size)),
        **greedy_cfg(new_tokens, timer))
    return out[:, input_ids.shape[1]:]


GenerateFn = Callable[[torch.Tensor, Sequence[str], int, StepTimer],
                      torch.Tensor]


def time_latency(fns: Dict[str, GenerateFn], images: torch.Tensor,
                 prompt: str, new_tokens: int,
                 repeats: int) -> Dict[str, dict]:
    """Batch-1 prefill latency and decode rate, runs interleaved.

    One untimed warm-up run per model, then ``repeats`` rounds in which each
    model runs once. Other processes only ever slow a run down, so the best
    round is reported (and the median, as a contention indicator).

    Args:
        fns (dict): Name -> generate function (see :func:`ours_generate`).
        images (torch.Tensor): (1, 3, S, S).
        prompt (str): The caption prompt.
        new_tokens (int): Tokens to generate.
        repeats (int): Timed rounds.

    Returns:
        dict: Name -> ``prefill_s``, ``decode_tokens_per_s`` (best round),
        ``prefill_s_median``, ``decode_tokens_per_s_median`` and ``tokens``
        (the ids of the last run).
    """
    if new_tokens < 2:
        raise ValueError('Decode rate needs new_tokens >= 2.')
    runs = {name: [] for name in fns}
    tokens = {}
    for r in range(repeats + 1):
        for name, fn in fns.items():
            timer = StepTimer()
            out = fn(images, [prompt], new_tokens, timer)
            if r == 0:
                continue
            s = timer.steps
            runs[name].append((s[0] - timer.start,
                               (len(s) - 1) / (s[-1] - s[0])))
            tokens[name] = out
    return {
        name: dict(prefill_s=min(x[0] for x in v),
                   decode_tokens_per_s=max(x[1] for x in v),
                   prefill_s_median=statistics.median(x[0] for x in v),
                   decode_tokens_per_s_median=statistics.median(
                       x[1] for x in v),
                   tokens=tokens[name][0].tolist())
        for name, v in runs.items()}


def time_throughput(fns: Dict[str, GenerateFn], images: torch.Tensor,
                    prompts: Sequence[str], new_tokens: int,
                    batch_sizes: Sequence[int], rounds: int) -> dict:
    """Caption every request in batches, for each model and batch size.

    Each round runs every (batch size, model) pair once, the models
    alternating batch by batch so that contention hits both alike; the best
    round of each pair is reported.

    Args:
        fns (dict): Name -> generate function.
        images (torch.Tensor): (R, 3, S, S).
        prompts (Sequence[str]): R prompts.
        new_tokens (int): Tokens per request.
        batch_sizes (Sequence[int]): Requests per ``generate`` call.
        rounds (int): Rounds.

    Returns:
        dict: ``'{name}_b{b}'`` -> ``seconds`` (best), ``seconds_all``,
        ``images_per_s``, ``decode_steps_per_s`` (best round: decode
        steps of its batches over their time) and ``tokens`` (R lists,
        last round).
    """
    out = {f'{n}_b{b}': dict(seconds_all=[], decode_all=[], tokens=[])
           for b in batch_sizes for n in fns}
    for _ in range(rounds):
        for b in batch_sizes:
            spent = {n: 0.0 for n in fns}
            steps = {n: [0, 0.0] for n in fns}  # decode steps, seconds
            toks = {n: [] for n in fns}
            for i in range(0, len(prompts), b):
                for n, fn in fns.items():
                    timer = StepTimer()
                    toks[n] += fn(images[i:i + b], prompts[i:i + b],
                                  new_tokens, timer).tolist()
                    spent[n] += time.perf_counter() - timer.start
                    s = timer.steps
                    steps[n][0] += len(s) - 1
                    steps[n][1] += s[-1] - s[0]
            for n in fns:
                r = out[f'{n}_b{b}']
                r['seconds_all'].append(round(spent[n], 3))
                if steps[n][1] > 0:
                    r['decode_all'].append(steps[n][0] / steps[n][1])
                r['tokens'] = toks[n]
    for r in out.values():
        r['seconds'] = min(r['seconds_all'])
        r['images_per_s'] = len(prompts) / r['seconds']
        r['decode_steps_per_s'] = max(r.pop('decode_all'), default=None)
    return out
