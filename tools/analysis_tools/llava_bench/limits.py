"""How far a run is from the machine's limits.

The prompt pass is bound by arithmetic: its useful FLOPs (every linear
layer of the vision tower, projector and decoder, attention scores and
weighted sums, causal half for the decoder) over its time, against the
machine's measured matmul peak in the same dtype. A decode step is bound by
memory: the bytes it must read (the decoder's weights and head, plus the
keys and values of every cached position) over its time, against the
measured read bandwidth.
"""
import time
from typing import Dict

import torch
from torch import nn

GB = 1e9


def matmul_peak_gflops(dtype: torch.dtype, n: int = 2048,
                       repeats: int = 5) -> float:
    """Best ``torch.mm`` rate of two n x n matrices, torch's threads.

    Args:
        dtype (torch.dtype): Operand dtype.
        n (int): Matrix side.
        repeats (int): Timed runs; the best is kept.

    Returns:
        float: GFLOP/s.
    """
    a = torch.randn(n, n).to(dtype)
    b = torch.randn(n, n).to(dtype)
    torch.mm(a, b)
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / GB


def _linear_macs(module: nn.Module) -> int:
    return sum(m.in_features * m.out_features for m in module.modules()
               if isinstance(m, nn.Linear))


def prefill_flops(model, prompt_positions: int) -> float:
    """Useful FLOPs of one sample's prompt pass (image included).

    Args:
        model (Llava): The model (any device, meta too).
        prompt_positions (int): Decoder positions of the prompt (text and
            image tokens).

    Returns:
        float: FLOPs; the LM head counts for the last position only.
    """
    tower = model.model.vision_tower
    t_vis = tower.num_patches + 1
    c_vis = tower.cls_token.shape[-1]
    lm = model.lang_encoder
    cfg = lm.config
    head_dim = getattr(cfg, 'head_dim', None) or \
        cfg.hidden_size // cfg.num_attention_heads
    width = cfg.num_attention_heads * head_dim
    n = prompt_positions
    decoder = lm.get_decoder()
    flops = 2 * t_vis * _linear_macs(tower) + \
        len(tower.layers) * 4 * t_vis**2 * c_vis
    flops += 2 * tower.num_patches * _linear_macs(model.projector)
    flops += 2 * n * _linear_macs(decoder.layers) + \
        cfg.num_hidden_layers * 2 * n * n * width
    flops += 2 * _linear_macs(lm.get_output_embeddings())
    return float(flops)


def decode_step_bytes(model, batch: int, positions: float) -> float:
    """Bytes a decode step reads: decoder weights, head, cached keys and
    values (embedding rows and the vision part are not read).

    Args:
        model (Llava): The model.
        batch (int): Sequences per step.
        positions (float): Mean cached positions per sequence.

    Returns:
        float: Bytes.
    """
    lm = model.lang_encoder
    cfg = lm.config
    weights = sum(p.numel() * p.element_size()
                  for p in lm.get_decoder().layers.parameters())
    weights += sum(p.numel() * p.element_size()
                   for p in lm.get_output_embeddings().parameters())
    head_dim = getattr(cfg, 'head_dim', None) or \
        cfg.hidden_size // cfg.num_attention_heads
    kv_heads = getattr(cfg, 'num_key_value_heads', None) or \
        cfg.num_attention_heads
    elt = torch.finfo(lm.dtype).bits // 8
    kv = 2 * cfg.num_hidden_layers * batch * positions * kv_heads * \
        head_dim * elt
    return float(weights + kv)


def distance_to_limits(model, prompt_positions: int, new_tokens: int,
                       prefill_s: float, decode_steps_per_s: Dict[int,
                                                                  float],
                       peak_gflops: float, read_gbps: float) -> dict:
    """Prefill GFLOP/s and decode GB/s as fractions of the machine's limits.

    Args:
        model (Llava): The model measured.
        prompt_positions (int): Its batch-1 prompt length.
        new_tokens (int): Tokens generated per sequence (decode steps read
            on average ``prompt + new_tokens / 2`` cached positions).
        prefill_s (float): Batch-1 prefill time.
        decode_steps_per_s (dict): Batch size -> decode steps per second.
        peak_gflops (float): :func:`matmul_peak_gflops` in the model dtype.
        read_gbps (float): Measured read bandwidth.

    Returns:
        dict: ``prefill_gflops``, ``prefill_of_peak``,
        ``decode_b{B}_gbps`` and ``decode_b{B}_of_bandwidth``.
    """
    gflops = prefill_flops(model, prompt_positions) / prefill_s / GB
    out = dict(prefill_gflops=_sig(gflops),
               prefill_of_peak=_sig(gflops / peak_gflops))
    positions = prompt_positions + new_tokens / 2
    for b, rate in decode_steps_per_s.items():
        gbps = decode_step_bytes(model, b, positions) * rate / GB
        out[f'decode_b{b}_gbps'] = _sig(gbps)
        out[f'decode_b{b}_of_bandwidth'] = _sig(gbps / read_gbps)
    return out


def _sig(x: float) -> float:
    """Three significant digits."""
    return float(f'{x:.3g}')
