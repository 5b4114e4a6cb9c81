"""Checks of the generation settings a user gives (``generation_cfg``,
``inference_model(..., num_beams=...)``, ``--num-beams``), before
transformers' ``generate`` turns a bad one into a ``ZeroDivisionError`` or
a silently different decoding."""
from numbers import Real


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_generation_cfg(cfg: dict) -> None:
    """Refuse generation settings that cannot work.

    Args:
        cfg (dict): Arguments for transformers' ``generate``.

    Raises:
        ValueError: A count below 1 or of the wrong type, more than one
            returned sequence (the model returns one text per image), or
            a sampling setting out of its range.
    """
    for key, least, meaning in (
            ('num_beams', 1, '1 is greedy decoding'),
            ('max_new_tokens', 1, 'the longest answer, in tokens')):
        value = cfg.get(key)
        if value is not None and not (_is_int(value) and value >= least):
            raise ValueError(f'{key}={value!r}: use an integer of {least} or '
                             f'more ({meaning}).')
    returns = cfg.get('num_return_sequences')
    if returns is not None and returns != 1:
        raise ValueError(f'num_return_sequences={returns!r}: the model '
                         'returns one text per image; leave it at 1.')
    top_p = cfg.get('top_p')
    if top_p is not None and not (isinstance(top_p, Real)
                                  and 0 < top_p <= 1):
        raise ValueError(f'top_p={top_p!r}: use a number in (0, 1] (1 '
                         'turns nucleus sampling off).')
    top_k = cfg.get('top_k')
    if top_k is not None and not (_is_int(top_k) and top_k >= 0):
        raise ValueError(f'top_k={top_k!r}: use an integer of 0 or more.')
    temperature = cfg.get('temperature')
    if cfg.get('do_sample') and temperature is not None and not (
            isinstance(temperature, Real) and temperature > 0):
        raise ValueError(f'temperature={temperature!r} with do_sample=True: '
                         'use a positive number, or do_sample=False for '
                         'greedy decoding.')
