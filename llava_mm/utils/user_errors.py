"""How the command-line tools report a refused input: one line, no traceback.

llava_mm checks what a user gives (paths, config values, checkpoints,
questions) and raises errors that name the input and the fix. A tool's
``main`` lets them propagate (tests and Python callers catch them);
:func:`run_tool` prints such an error as ``error: MESSAGE`` and exits with
status 1. An exception raised elsewhere (inside torch, transformers, ...)
is a fault, not a refusal, and keeps its traceback, as does every error
when ``LLAVA_MM_TRACEBACK=1`` is set.
"""
import os
import os.path as osp
import pickle
import sys
import traceback
from typing import Callable, Optional

# Kinds of error that llava_mm raises for a bad input.
USER_ERROR_TYPES = (ValueError, TypeError, KeyError, OSError, RuntimeError,
                    pickle.UnpicklingError)
_OWN_DIRS = (osp.dirname(osp.dirname(osp.abspath(__file__))),)


def raised_by_llava_mm(err: BaseException,
                       own_dirs: tuple = _OWN_DIRS) -> bool:
    """Whether ``err`` was raised by code under ``own_dirs``, directly or
    re-raised with its message by another library (mmengine's registry
    re-raises a build error as ``class `X` in module: MESSAGE``).

    Args:
        err (BaseException): A caught exception.
        own_dirs (tuple[str]): Folders of the code whose raises are
            refusals (the llava_mm package, and a tool's own folder).

    Returns:
        bool: True when the innermost frame of its traceback lies there.
    """
    frames = traceback.extract_tb(err.__traceback__)
    if frames:
        where = osp.abspath(frames[-1].filename)
        if any(where.startswith(d + osp.sep) for d in own_dirs):
            return True
    inner = err.__context__
    return (inner is not None and str(inner) and str(inner) in str(err)
            and raised_by_llava_mm(inner, own_dirs))


def error_line(err: BaseException) -> str:
    """The one-line form of an error: its message, newlines joined."""
    text = err.args[0] if isinstance(err, KeyError) and err.args and \
        isinstance(err.args[0], str) else str(err)
    text = ' '.join(part.strip() for part in text.strip().splitlines())
    return text or type(err).__name__


def run_tool(main: Callable, argv: Optional[list] = None,
             tool_file: Optional[str] = None) -> int:
    """Run a tool's ``main``; print a refusal as one line.

    Args:
        main (callable): The tool's entry point, called as ``main(argv)``
            (or ``main()`` when ``argv`` is None).
        argv (list[str], optional): Arguments for ``main``.
        tool_file (str, optional): The tool's ``__file__``: raises in its
            folder count as refusals too.

    Returns:
        int: 0, or ``main``'s own integer result; 1 after a refusal.
    """
    own = _OWN_DIRS + ((osp.dirname(osp.abspath(tool_file)),)
                       if tool_file else ())
    try:
        result = main() if argv is None else main(argv)
    except USER_ERROR_TYPES as e:
        if os.environ.get('LLAVA_MM_TRACEBACK') == '1' or \
                not raised_by_llava_mm(e, own):
            raise
        print(f'error: {error_line(e)}', file=sys.stderr, flush=True)
        return 1
    return result if isinstance(result, int) else 0
