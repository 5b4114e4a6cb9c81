"""Stop generation with a clear error when the model's logits are NaN/inf.

Greedy search over NaN scores picks token 0 and beam search garbage, so a
broken model (non-finite weights or inputs, fp16 overflow) would otherwise
return empty or junk text with no error. Processors in ``generate`` may set
``-inf`` on purpose (suppressed tokens, minimum length), so only NaN and
``+inf`` are refused. The check costs one pass over a (batch, vocab) tensor
per step.
"""
import torch
from transformers import LogitsProcessor


class NonFiniteLogitsError(FloatingPointError):
    """The language model produced NaN or +inf logits."""


class CheckFiniteLogits(LogitsProcessor):
    """A logits processor that raises on NaN/+inf scores (see module doc)."""

    def __call__(self, input_ids: torch.LongTensor,
                 scores: torch.FloatTensor) -> torch.FloatTensor:
        bad = torch.isnan(scores) | torch.isposinf(scores)
        if bool(bad.any()):
            rows = bad.any(-1).nonzero().flatten().tolist()
            raise NonFiniteLogitsError(
                f'The language model produced NaN/inf logits (batch rows '
                f'{rows}, {input_ids.shape[1]} tokens in). The weights or '
                'the image hold non-finite values, or the dtype overflows '
                '(fp16): check the checkpoint, or run in bf16/fp32.')
        return scores
