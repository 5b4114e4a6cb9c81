"""Process memory of checkpoints read through a file mapping (Linux).

A checkpoint read with ``mmap`` counts in the process's resident memory as
its pages are touched; these helpers find the file's mappings
(``/proc/self/maps``), give whole pages back (``madvise``), copy tensors
off the file, and hand freed heap memory back to the system
(``malloc_trim``). Elsewhere they do nothing.
"""
import ctypes
import mmap
import os
import os.path as osp
from typing import Callable, Dict, List, Tuple

import torch


def file_mappings(path: str) -> List[Tuple[int, int]]:
    """Address ranges of this process's mappings of ``path``.

    Args:
        path (str): A file.

    Returns:
        list[tuple[int, int]]: ``(start, end)`` per mapping; empty where
        ``/proc/self/maps`` cannot be read.
    """
    real = osp.realpath(path)
    ranges = []
    try:
        with open('/proc/self/maps') as f:
            for line in f:
                parts = line.split(maxsplit=5)
                if len(parts) == 6 and parts[5].strip() == real:
                    lo, hi = (int(a, 16) for a in parts[0].split('-'))
                    ranges.append((lo, hi))
    except OSError:
        pass
    return ranges


def drop_pages(t: torch.Tensor, ranges: List[Tuple[int, int]]) -> None:
    """Unmap the whole pages of a tensor read from the file's mapping.

    The pages stay in the kernel's page cache (and are read again on a next
    access); they stop counting in this process's resident memory. Only
    memory inside ``ranges`` (the checkpoint's own mapping, never written)
    is touched.

    Args:
        t (torch.Tensor): A tensor read from the file.
        ranges (list): From :func:`file_mappings`.
    """
    start = t.untyped_storage().data_ptr()
    end = start + t.untyped_storage().nbytes()
    if not any(lo <= start and end <= hi for lo, hi in ranges):
        return
    page = mmap.PAGESIZE
    lo, hi = -(-start // page) * page, end // page * page
    if hi > lo:
        _libc().madvise(ctypes.c_void_p(lo), ctypes.c_size_t(hi - lo),
                        ctypes.c_int(4))  # MADV_DONTNEED


def read_shared(read: Callable[[str], dict], path: str) -> dict:
    """``read(path)`` with torch's file mappings made ``MAP_SHARED``.

    Args:
        read (callable): A checkpoint reader, e.g.
            :func:`~llava_mm.models.loading.read_state_dict`.
        path (str): The checkpoint.

    Returns:
        dict: Its tensors; never write to them (they are the file).
    """
    with torch.serialization.set_default_mmap_options(mmap.MAP_SHARED):
        return dict(read(path))


def copy_off_file(state: Dict[str, torch.Tensor],
                  path: str) -> Dict[str, torch.Tensor]:
    """Copy the tensors that still live in ``path``'s mapping to memory.

    After :func:`read_shared`, so that the model never writes to the file.

    Args:
        state (dict): Tensors to keep.
        path (str): The checkpoint file.

    Returns:
        dict: The same tensors, none backed by the file.
    """
    ranges = file_mappings(path) if os.name == 'posix' else []

    def in_file(t):
        ptr = t.untyped_storage().data_ptr()
        return any(lo <= ptr < hi for lo, hi in ranges)
    return {k: v.clone() if in_file(v) else v for k, v in state.items()}


def release_heap() -> None:
    """Give the freed temporaries of a quantization back to the system.

    glibc raises its mmap threshold after large frees, so the float copies
    made while quantizing a layer stay in the heap as free (but resident)
    memory; ``malloc_trim`` returns them. A no-op without glibc.
    """
    trim = getattr(_libc(), 'malloc_trim', None)
    if trim is not None:
        trim(0)


def _libc():
    return ctypes.CDLL(None, use_errno=True)
