"""Stop generation with a clear error when the model's logits are NaN/inf.

Greedy search over NaN scores picks token 0 and beam search garbage, so a
broken model (non-finite weights or inputs, fp16 overflow) would otherwise
return empty or junk text with no error. Processors in ``generate`` may set
``-inf`` on purpose (suppressed tokens, minimum length), so only NaN and
``+inf`` are refused.

Reading a flag from the device makes the host wait for the device, so a
``deferred`` check only records, on the device, which rows went bad; the
caller reads that once after ``generate`` (:meth:`raise_if_found`), before
any text is made. With a streamer, text leaves at every step, so the check
reads and raises at every step instead.
"""
from typing import Optional

import torch
from transformers import LogitsProcessor


class NonFiniteLogitsError(FloatingPointError):
    """The language model produced NaN or +inf logits."""


class CheckFiniteLogits(LogitsProcessor):
    """A logits processor that refuses NaN/+inf scores (see module doc).

    Args:
        deferred (bool): Record on the device and raise in
            :meth:`raise_if_found`; False raises at the step itself.
    """

    def __init__(self, deferred: bool = False) -> None:
        self.deferred = deferred
        self.bad: Optional[torch.Tensor] = None  # (B, ) rows seen bad
        self.tokens_in = 0

    def __call__(self, input_ids: torch.LongTensor,
                 scores: torch.FloatTensor) -> torch.FloatTensor:
        bad = (torch.isnan(scores) | torch.isposinf(scores)).any(-1)
        if not self.deferred:
            if bool(bad.any()):
                self._raise(bad, input_ids.shape[1])
            return scores
        if self.bad is None:  # the first step: (B, ) rows, prompt length
            self.bad, self.tokens_in = bad, input_ids.shape[1]
        else:
            self.bad = self.bad | bad
        return scores

    def raise_if_found(self) -> None:
        """Raise if a deferred check recorded non-finite scores."""
        if self.bad is not None and bool(self.bad.any()):
            self._raise(self.bad, self.tokens_in)

    @staticmethod
    def _raise(bad: torch.Tensor, tokens_in: int) -> None:
        rows = bad.nonzero().flatten().tolist()
        raise NonFiniteLogitsError(
            f'The language model produced NaN/inf logits (batch rows '
            f'{rows}, from {tokens_in} tokens in). The weights or the image '
            'hold non-finite values, or the dtype overflows (fp16): check '
            'the checkpoint, or run in bf16/fp32.')
