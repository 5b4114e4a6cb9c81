"""Checks of text a user gives (questions, prompts, answers)."""


def check_text(text: str, what: str = 'question') -> None:
    """Refuse text that holds a lone surrogate (not encodable as UTF-8).

    Such characters come from invalid UTF-8 read with
    ``errors='surrogateescape'`` (e.g. ``sys.stdin``) or from ``\\ud800``
    escapes in JSON; the tokenizer would fail with a ``TypeError``.

    Args:
        text (str): The text.
        what (str): What it is, for the error.

    Raises:
        ValueError: Naming the first such character and its position.
    """
    try:
        text.encode('utf-8')
    except UnicodeEncodeError as e:
        pos = e.start
        raise ValueError(
            f'The {what} is not valid text: it holds a lone surrogate at '
            f'character {pos} (U+{ord(text[pos]):04X}, after '
            f'{text[:pos][-20:]!r}), e.g. from bytes that are not UTF-8. '
            'Remove it or re-encode the input as UTF-8.') from None
