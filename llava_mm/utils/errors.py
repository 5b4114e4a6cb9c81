"""Errors with one paragraph that says what to do."""
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Dict, Iterator

# Option -> how the command-line tool being run spells it (see cli_wording).
_CLI_FLAGS: ContextVar[Dict[str, str]] = ContextVar('cli_flags', default={})


@contextmanager
def cli_wording(flags: Dict[str, str]) -> Iterator[None]:
    """Within this block, load errors name a tool's flags, e.g.
    ``{'pretrained': '--checkpoint PATH'}``, instead of Python keywords.

    Args:
        flags (dict): Option (as :func:`unavailable` takes it) -> the
            command line that sets it.
    """
    token = _CLI_FLAGS.set(flags)
    try:
        yield
    finally:
        _CLI_FLAGS.reset(token)


class WeightsUnavailableError(RuntimeError):
    """A tokenizer, config or checkpoint could not be fetched or read."""


def unavailable(what: str, source: str, option: str,
                err: BaseException) -> WeightsUnavailableError:
    """Make the one-paragraph error for something that could not be loaded.

    Args:
        what (str): What was being loaded, e.g. ``'tokenizer'``.
        source (str): The hub name, path or URL that failed.
        option (str): The config key or argument that points at it.
        err (BaseException): The original error (summarised on one line).

    Returns:
        WeightsUnavailableError: The error to raise ``from err``.
    """
    first = str(err).strip().splitlines()[0] if str(err).strip() else ''
    return WeightsUnavailableError(
        f'Could not load the {what} from {source!r} '
        f'({type(err).__name__}: {first[:300]}). This machine may be offline '
        'or the name may be wrong. Download it on a machine with network '
        'access (for a hub name: `huggingface-cli download NAME --local-dir '
        f'DIR`) and use the local copy: {local_copy_hint(option)}.')


def local_copy_hint(option: str) -> str:
    """How to point ``option`` at a local copy, as commands accept it.

    Args:
        option (str): ``'pretrained'`` (the LLaVA checkpoint),
            ``'load_from'``, ``'--resume'`` or a ``model.*`` config key.

    Returns:
        str: The command-line and Python forms that work for it.
    """
    if option in _CLI_FLAGS.get():
        return f'`{_CLI_FLAGS.get()[option]}`'
    if option == 'pretrained':
        return ('`python tools/test.py CONFIG /path/to/file.pth` (the '
                'checkpoint argument), `get_model(NAME, pretrained='
                '\'/path/to/file.pth\')` or `init_model(CONFIG, '
                '\'/path/to/file.pth\')` in Python')
    if option == 'load_from':
        return ('`python tools/train.py CONFIG --cfg-options '
                'load_from=/path/to/file.pth`')
    if option == '--resume':
        return '`python tools/train.py CONFIG --resume /path/to/file.pth`'
    keys = option.split('.')[1:] if option.startswith('model.') else \
        option.split('.')
    value = "'/path/to/local'"
    for key in reversed(keys[1:]):
        value = f'dict({key}={value})'
    return (f'`--cfg-options {option}=/path/to/local` for tools/test.py '
            f'and tools/train.py, or `get_model(..., {keys[0]}={value})` '
            'in Python')
