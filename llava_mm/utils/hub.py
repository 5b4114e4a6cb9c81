"""Tokenizers and language-model configs from a folder or the hub, failing
fast when the hub cannot be reached.

transformers retries an unreachable hub for about 50 s (huggingface_hub's
backoff, for each file) before it says so. Here one request per process
tells whether the hub answers. When it does not, or ``HF_HUB_OFFLINE=1`` is
set, files come from the local cache only, and a name that is not cached
fails at once, saying how to get a local copy. A local path that does not
exist fails before anything else is tried.
"""
import os.path as osp
import re
from functools import lru_cache
from typing import Callable, Optional

from .errors import WeightsUnavailableError, local_copy_hint, unavailable

# A hub repository id: NAME or ORG/NAME.
_REPO_ID = re.compile(r'^[\w.-]+(/[\w.-]+)?$')


def is_local_path(name_or_path: str) -> bool:
    """Whether ``name_or_path`` can only mean a local folder.

    Args:
        name_or_path (str): A hub name (``ORG/NAME``) or a path.

    Returns:
        bool: True for an existing path or one that is not a hub name
        (absolute, ``./``, ``../``, ``~``, more than one ``/``).
    """
    return osp.exists(name_or_path) or name_or_path.startswith(
        ('.', '~')) or osp.isabs(name_or_path) or not _REPO_ID.match(
            name_or_path)


@lru_cache(maxsize=None)
def hub_unreachable() -> Optional[str]:
    """Why the hub is not asked for files, or None when it answers.

    One HEAD request to the hub's endpoint, at most once per process, within
    huggingface_hub's ``HF_HUB_ETAG_TIMEOUT``.

    Returns:
        str | None: E.g. ``'HF_HUB_OFFLINE is set'``, or None.
    """
    from huggingface_hub import constants
    if constants.HF_HUB_OFFLINE:
        return 'HF_HUB_OFFLINE is set'
    from huggingface_hub.utils import get_session
    try:
        get_session().head(constants.ENDPOINT,
                           timeout=constants.HF_HUB_ETAG_TIMEOUT)
    except Exception as e:  # noqa: BLE001 (any failure: no answer)
        first = (str(e).strip().splitlines() or [''])[0][:200]
        return (f'The hub ({constants.ENDPOINT}) did not answer '
                f'({type(e).__name__}: {first})')
    return None


def check_local_path(name_or_path: str, what: str, option: str) -> None:
    """Raise at once when a local path does not exist.

    Args:
        name_or_path (str): A hub name or a folder.
        what (str): What it holds, e.g. ``'tokenizer'``.
        option (str): The config key that names it.

    Raises:
        FileNotFoundError: ``name_or_path`` is a path (see
            :func:`is_local_path`) and no folder is there.
    """
    if is_local_path(name_or_path) and not osp.isdir(name_or_path):
        state = 'is a file, not a folder' if osp.exists(name_or_path) \
            else 'does not exist'
        raise FileNotFoundError(
            f'The {what} folder {name_or_path} {state}. Give the folder '
            f'that holds it: {local_copy_hint(option)}.')


def from_pretrained(load: Callable, name_or_path: str, what: str,
                    option: str, **kwargs):
    """``load(name_or_path, **kwargs)``, failing fast when offline.

    Args:
        load (Callable): A ``from_pretrained`` method of transformers.
        name_or_path (str): A hub name or a folder.
        what (str): What is loaded, for the error.
        option (str): The config key that names it, for the error.
        **kwargs: Passed to ``load``.

    Returns:
        What ``load`` returns.

    Raises:
        FileNotFoundError: A local path that does not exist.
        WeightsUnavailableError: It could not be loaded; the message says
            how to get a local copy and how to point ``option`` at it.
    """
    check_local_path(name_or_path, what, option)
    offline = None if osp.isdir(name_or_path) else hub_unreachable()
    if offline is not None:
        kwargs['local_files_only'] = True
    try:
        return load(name_or_path, **kwargs)
    except WeightsUnavailableError:
        raise
    except (OSError, ValueError) as e:
        raise unavailable(what, name_or_path, option, e, offline) from e
