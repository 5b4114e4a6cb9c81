"""Output paths the tools and inferencers check before any work is done.

An output must not replace one of the run's inputs (through a symlink,
a hard link or another spelling of the same path included), and the
folder of an output file must exist before minutes of generation are
spent.
"""
import os
import os.path as osp
from typing import Iterable, Optional, Tuple


def _file_id(path: str) -> Optional[Tuple[int, int]]:
    """(device, inode) of an existing file, following symlinks."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def check_not_inputs(outputs: Iterable[str], inputs: Iterable[str],
                     option: str, fix: Optional[str] = None) -> None:
    """Refuse outputs that are one of the inputs.

    Args:
        outputs (Iterable[str]): Files about to be written.
        inputs (Iterable[str]): Files the run reads.
        option (str): The argument that chose the outputs, for the error
            (e.g. ``'--show-dir'``).
        fix (str, optional): What to do instead; defaults to choosing
            another ``option``.

    Raises:
        ValueError: An output is the same file as an input.
    """
    ids = {}
    for path in inputs:
        file_id = _file_id(path)
        if file_id is not None:
            ids.setdefault(file_id, path)
    if not ids:
        return
    for out in outputs:
        given = ids.get(_file_id(out))
        if given is not None:
            raise ValueError(
                f'{option}: writing {out} would overwrite the input {given}. '
                f'{fix or f"Choose another {option}."}')


def check_out_file(path: str, option: str,
                   creates_folder: bool = False) -> None:
    """Refuse an output file that cannot be written later.

    Args:
        path (str): The file to write later.
        option (str): The argument that named it (e.g. ``'--out'``).
        creates_folder (bool): The writer creates missing folders (as
            mmengine's ``dump`` does); then the nearest existing one must
            be a writable folder.

    Raises:
        FileNotFoundError: Its folder does not exist (and is not created).
        IsADirectoryError: It is a directory.
        NotADirectoryError: A file stands where a folder of it would be.
        PermissionError: The folder is not writable.
    """
    if osp.isdir(path):
        raise IsADirectoryError(f'{option} {path} is a folder: name a file '
                                'in it.')
    folder = osp.dirname(osp.abspath(path))
    if creates_folder:
        while not osp.exists(folder):
            folder = osp.dirname(folder)
        if not osp.isdir(folder):
            raise NotADirectoryError(f'{option} {path}: {folder} is a file, '
                                     'not a folder. Write elsewhere.')
    elif not osp.isdir(folder):
        raise FileNotFoundError(
            f'{option} {path}: the folder {folder} does not exist. Create it '
            'first or write elsewhere.')
    if not os.access(folder, os.W_OK):
        raise PermissionError(f'{option} {path}: the folder {folder} is not '
                              'writable. Write elsewhere.')
