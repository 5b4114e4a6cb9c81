"""Errors with one paragraph that says what to do."""


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
        'DIR`) and point the config at the local copy, e.g. '
        f'`--cfg-options {option}=/path/to/local` on the command line or '
        f'`get_model(..., {option.split(".")[-1]}=...)` in Python.')
