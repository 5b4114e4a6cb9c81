"""``--cfg-options KEY=VALUE ...`` that keeps the spaces of a string.

mmengine's :class:`~mmengine.config.DictAction` deletes every space of a
value, quoted or not: ``model.caption_prompt="A short caption."`` reaches
the config as ``Ashortcaption.``. :class:`CfgOptionsAction` parses a value
as mmengine does (numbers, ``True``/``False``/``None``, ``a,b`` lists,
``[...]``/``(...)``) except that

* a value in quotes that reach the program (``'KEY="a, b"'``) is that
  string, verbatim;
* a value with a space between two words (``KEY=Describe the image.``, as
  the shell passes ``KEY="Describe the image."``) is one string, verbatim;
* a bracketed list is read as a Python literal first, so quoted items keep
  their spaces (``KEY="['a b', 'c']"``).
"""
import argparse
import ast
import re
from typing import Any, Optional, Sequence

from mmengine.config import DictAction

# A space with a word character (not a separator) on each side.
_INNER_SPACE = re.compile(r'[^\s,\[\]()]\s+[^\s,\[\]()]')


def parse_cfg_value(text: str) -> Any:
    """The config value of one ``--cfg-options`` value (see module doc).

    Args:
        text (str): What follows the first ``=``.

    Returns:
        The value: a str, number, bool, None, list or tuple.
    """
    stripped = text.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] and \
            stripped[0] in '\'"':
        return stripped[1:-1]
    if stripped[:1] in '[(' and stripped[-1:] in '])':
        try:
            value = ast.literal_eval(stripped)
        except (ValueError, SyntaxError):
            value = None
        if isinstance(value, (list, tuple)):
            return value
        return DictAction._parse_iterable(stripped)
    if _INNER_SPACE.search(stripped):
        return text
    return DictAction._parse_iterable(stripped)


class CfgOptionsAction(DictAction):
    """mmengine's ``DictAction`` with the values parsed by
    :func:`parse_cfg_value` and a one-line error for a pair without ``=``.
    """

    def __call__(self,
                 parser: argparse.ArgumentParser,
                 namespace: argparse.Namespace,
                 values: Optional[Sequence[str]],
                 option_string: Optional[str] = None) -> None:
        options = dict(getattr(namespace, self.dest, None) or {})
        for pair in values or ():
            key, sep, value = pair.partition('=')
            if not sep or not key.strip():
                parser.error(
                    f'{option_string} {pair!r}: give KEY=VALUE pairs, e.g. '
                    'train_cfg.max_iters=100; quote a value with spaces: '
                    'model.caption_prompt="Describe the image."')
            options[key.strip()] = parse_cfg_value(value)
        setattr(namespace, self.dest, options)


def add_cfg_options_arg(parser: argparse.ArgumentParser,
                        example: str) -> None:
    """Add ``--cfg-options`` (:class:`CfgOptionsAction`).

    Args:
        parser (argparse.ArgumentParser): The parser to extend.
        example (str): Example pairs for the help text.
    """
    parser.add_argument(
        '--cfg-options', nargs='+', action=CfgOptionsAction,
        metavar='KEY=VALUE',
        help=f'override config settings, e.g. {example}; a quoted string '
        'keeps its spaces, e.g. model.caption_prompt="Describe the image."')
