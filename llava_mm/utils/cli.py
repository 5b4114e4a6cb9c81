"""Command-line options the chat tools share: which model, how to load it,
how to sample."""
import argparse

import torch

from llava_mm.apis import get_model
from llava_mm.apis.chat import (DEFAULT_MAX_NEW_TOKENS, DEFAULT_TEMPERATURE,
                                DEFAULT_TOP_P)


def add_model_args(parser: argparse.ArgumentParser) -> None:
    """``--checkpoint``, ``--device`` and ``--dtype``."""
    parser.add_argument('--checkpoint', default=None,
                        help='checkpoint path/URL (default: the model '
                        "index's weights; required for a config file)")
    parser.add_argument('--device', default=None, help='e.g. cuda:0, cpu')
    parser.add_argument('--dtype', default=None,
                        choices=['fp32', 'fp16', 'bf16'])


def add_sampling_args(parser: argparse.ArgumentParser) -> None:
    """``--temperature``, ``--top-p`` and ``--max-new-tokens`` with the
    LLaVA CLI's defaults."""
    parser.add_argument('--temperature', type=float,
                        default=DEFAULT_TEMPERATURE,
                        help='0 decodes greedily (default: %(default)s)')
    parser.add_argument('--top-p', type=float, default=DEFAULT_TOP_P,
                        help='nucleus sampling mass (default: %(default)s)')
    parser.add_argument('--max-new-tokens', type=int,
                        default=DEFAULT_MAX_NEW_TOKENS,
                        help='longest answer (default: %(default)s)')


def model_from_args(name: str, args: argparse.Namespace) -> torch.nn.Module:
    """The model ``name`` loaded as :func:`add_model_args` asked."""
    return get_model(name, pretrained=args.checkpoint or True,
                     device=args.device, dtype=args.dtype)
