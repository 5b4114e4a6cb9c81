"""Command-line options the chat tools share: which model, how to load it,
how to sample."""
import argparse
import os.path as osp
import re
from typing import Optional

import torch

from llava_mm.apis import get_model
from llava_mm.apis.chat import (
    DEFAULT_MAX_NEW_TOKENS,
    DEFAULT_TEMPERATURE,
    DEFAULT_TOP_P,
)
from llava_mm.apis.model_index import is_config_path, model_entry
from llava_mm.utils.errors import WeightsUnavailableError, cli_wording

# The loading options (as load errors name them) -> the flags that set them.
CLI_FLAGS = {
    'pretrained': '--checkpoint PATH',
    'model.tokenizer.name_or_path': '--tokenizer DIR',
    'model.vision_encoder.pretrained': '--vision-checkpoint PATH',
}


def add_model_args(parser: argparse.ArgumentParser) -> None:
    """``--checkpoint``, ``--tokenizer``, ``--vision-checkpoint``,
    ``--device``, ``--dtype`` and ``--quantization``."""
    parser.add_argument('--checkpoint', default=None,
                        help='checkpoint path/URL (default: the model '
                        "index's weights; required for a config file)")
    parser.add_argument('--tokenizer', default=None, metavar='DIR',
                        help='tokenizer folder (or hub name) instead of '
                        "the config's model.tokenizer.name_or_path")
    parser.add_argument('--vision-checkpoint', default=None, metavar='PATH',
                        help='vision-tower file, for a checkpoint without '
                        "one (default: the config's "
                        'model.vision_encoder.pretrained)')
    parser.add_argument('--device', default=None, help='e.g. cuda:0, cpu')
    parser.add_argument('--dtype', default=None,
                        choices=['fp32', 'fp16', 'bf16'])
    parser.add_argument(
        '--quantization', choices=['int8', 'nf4'], default=None,
        help="weight-only low-bit LM decoder layers (needs "
        "'llava_mm[quant]'); default: the config's model.quantization")


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


def _missing_file(flag: str, path: Optional[str]) -> Optional[str]:
    if path is None or re.match(r'^https?://', path) or osp.isfile(path):
        return None
    what = 'is a folder, not a file' if osp.isdir(path) else 'no such file'
    return f'{flag} {path}: {what}.'


def model_args_problem(name: str, args: argparse.Namespace) -> Optional[str]:
    """What stops ``name`` loading as :func:`add_model_args` asked, in the
    flags' words, checked before anything slow; None if nothing does.

    Args:
        name (str): A model name from the index or a config file.
        args (argparse.Namespace): With the options of
            :func:`add_model_args`.

    Returns:
        str | None: A one-line message.
    """
    if is_config_path(name):
        if args.checkpoint is None:
            return (f'{name} is a config file: add --checkpoint PATH (or '
                    'give a model name from list_models()).')
    else:
        try:
            entry = model_entry(name)
        except (ValueError, FileNotFoundError) as e:
            return str(e)
        if args.checkpoint is None and not entry.get('Weights'):
            return (f'{name} has no released weights: convert them '
                    '(configs/llava/README.md) and add --checkpoint PATH.')
    tokenizer = args.tokenizer
    if tokenizer is not None and not osp.isdir(tokenizer) and (
            osp.isabs(tokenizer) or tokenizer.startswith(('.', '~'))):
        return (f'--tokenizer {tokenizer}: no such folder (give a folder '
                'holding tokenizer files, or a hub name).')
    return _missing_file('--checkpoint', args.checkpoint) or _missing_file(
        '--vision-checkpoint', args.vision_checkpoint)


def model_kwargs(args: argparse.Namespace) -> dict:
    """Keyword arguments of :func:`get_model` for :func:`add_model_args`.

    Args:
        args (argparse.Namespace): The parsed options.

    Returns:
        dict: ``device``, ``dtype``, ``quantization`` and, where given,
        ``pretrained`` and the config overrides of the local files.
    """
    kwargs = dict(device=args.device, dtype=args.dtype,
                  quantization=args.quantization)
    if args.checkpoint is not None:
        kwargs['pretrained'] = args.checkpoint
    if args.tokenizer is not None:
        kwargs['tokenizer'] = dict(name_or_path=args.tokenizer)
    if args.vision_checkpoint is not None:
        kwargs['vision_encoder'] = dict(pretrained=args.vision_checkpoint)
    return kwargs


def model_from_args(name: str, args: argparse.Namespace) -> torch.nn.Module:
    """The model ``name`` loaded as :func:`add_model_args` asked.

    A problem with the options, or weights that cannot be read, ends the
    tool with a one-line message naming the flag to use.
    """
    problem = model_args_problem(name, args)
    if problem is not None:
        raise SystemExit(f'error: {problem}')
    try:
        with cli_wording(CLI_FLAGS):
            return get_model(name, **model_kwargs(args))
    except (WeightsUnavailableError, OSError, ValueError) as e:
        raise SystemExit(f'error: {e}') from e
