"""Read ``.pth`` files without running code from them.

Every checkpoint llava_mm reads goes through :func:`load_checkpoint_file`:
``torch.load(weights_only=True)`` with torch's own allowlist plus numpy's
array/scalar constructors (data only). Files written by mmengine's Runner
before llava_mm saved the message hub as plain data hold ``HistoryBuffer``
objects, pickled through ``getattr(HistoryBuffer, 'min')`` and friends.
Those names are served by stand-ins that only record data
(:class:`PickledHistoryBuffer`, :func:`_statistics_method`): nothing from
the file is called, set on a real class or kept as an object with
behaviour, and anything else a pickle names is refused with an error that
names the file.
"""
import os.path as osp
import pickle
import zipfile
from collections import OrderedDict
from typing import Any, Optional

import numpy as np
import torch

# The statistics HistoryBuffer registers by default; old files pickle
# them as ``getattr(HistoryBuffer, name)``.
_STATISTICS = ('min', 'max', 'current', 'mean')
_HISTORY_FIELDS = {'max_length', '_log_history', '_count_history',
                   'statistics_methods'}
_PLAIN = (type(None), bool, int, float, complex, str, bytes, torch.Tensor,
          torch.dtype, torch.device, torch.Size, np.ndarray, np.generic,
          np.dtype)


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds something other than tensors and plain data."""


class PickledHistoryBuffer:
    """Data of an mmengine ``HistoryBuffer`` read from an old checkpoint.

    Only the three data fields are accepted; the statistics methods are
    checked to be mmengine's defaults and dropped.
    """

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict) or set(state) - _HISTORY_FIELDS:
            extra = sorted(set(state) - _HISTORY_FIELDS) if isinstance(
                state, dict) else type(state).__name__
            raise UnsafeCheckpointError(
                f'a HistoryBuffer with unexpected fields {extra}')
        methods = state.get('statistics_methods', {})
        if not isinstance(methods, dict) or any(
                n not in _STATISTICS or m != n for n, m in methods.items()):
            raise UnsafeCheckpointError(
                'a HistoryBuffer with non-default statistics methods')
        self.data = {k: v for k, v in state.items()
                     if k != 'statistics_methods'}


class _StatisticsName(str):
    """What ``getattr(HistoryBuffer, 'min')`` unpickles to: just the name."""


def _statistics_method(owner: Any, name: Any) -> _StatisticsName:
    """Stand-in for ``builtins.getattr`` in old mmengine checkpoints."""
    if owner is not PickledHistoryBuffer or name not in _STATISTICS:
        raise UnsafeCheckpointError(
            f'getattr({getattr(owner, "__name__", type(owner).__name__)}, '
            f'{name!r}) (only HistoryBuffer statistics may be named)')
    return _StatisticsName(name)


def _allowed_globals() -> list:
    """Globals accepted on top of torch's weights-only allowlist."""
    core = getattr(np, '_core', None) or np.core  # numpy 2 / numpy 1
    dtypes = [type(np.dtype(t)) for t in (
        np.float16, np.float32, np.float64, np.int8, np.int16, np.int32,
        np.int64, np.uint8, np.bool_)]
    return [np.ndarray, np.dtype, core.multiarray._reconstruct,
            core.multiarray.scalar, *dtypes,
            (PickledHistoryBuffer,
             'mmengine.logging.history_buffer.HistoryBuffer'),
            (_statistics_method, 'builtins.getattr')]


def check_plain(obj: Any, path: str, where: str = 'checkpoint') -> None:
    """Raise unless ``obj`` is tensors, numbers, strings and containers.

    A dict/OrderedDict must not carry instance attributes other than
    torch's ``_metadata`` (a pickle can set
    ``__deepcopy__`` or ``__reduce_ex__`` on one, which ``copy.deepcopy``
    would call later).

    Args:
        obj: The loaded object.
        path (str): The file, for the error.
        where (str): Location of ``obj`` inside the file.
    """
    if isinstance(obj, (dict, OrderedDict)):
        attrs = getattr(obj, '__dict__', {})
        if type(obj) not in (dict, OrderedDict) or set(attrs) - {
                '_metadata'}:  # torch's state dicts carry _metadata
            raise _refused(path, f'a {type(obj).__name__} with attributes '
                           f'{sorted(attrs)} at {where}')
        check_plain(attrs.get('_metadata'), path, f'{where}._metadata')
        for k, v in obj.items():
            check_plain(k, path, where)
            check_plain(v, path, f'{where}[{k!r}]')
    elif type(obj) in (list, tuple):
        for i, v in enumerate(obj):
            check_plain(v, path, f'{where}[{i}]')
    elif isinstance(obj, PickledHistoryBuffer):
        for k, v in obj.data.items():
            check_plain(v, path, f'{where}.{k}')
    elif not isinstance(obj, _PLAIN):
        raise _refused(path, f'a {type(obj).__name__} at {where}')


def _refused(path: str, what: str) -> UnsafeCheckpointError:
    return UnsafeCheckpointError(
        f'Refused to load {path}: it contains {what}. llava_mm reads only '
        'tensors and plain data from checkpoints, because unpickling '
        'anything else can run code. Use a checkpoint written by llava_mm/'
        'mmengine or a released model; do not load files from untrusted '
        'sources.')


# The pickled magic number 0x1950a86a20f9469cfc6c that opens a file of
# ``torch.save``'s legacy (non-zip) format, after the pickle protocol opcode.
_LEGACY_MAGIC = b'\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19'


def _not_readable(path: str) -> Optional[str]:
    """Why a file cannot be read by the weights-only reader, and how to
    convert it; None when it is a file that reader parses (a zip archive of
    ``torch.save``, or its legacy format at pickle protocol 2)."""
    if zipfile.is_zipfile(path):
        return None
    with open(path, 'rb') as f:
        head = f.read(32)
    if head.startswith(b'PK'):  # a zip archive cut short: torch says so
        return None
    protocol = head[1] if head[:1] == b'\x80' and len(head) > 1 else None
    if _LEGACY_MAGIC in head:
        if protocol == 2:
            return None
        return (
            f'Refused to load {path}: it is a torch.save file in the legacy '
            f'format (before PyTorch 1.6) pickled with protocol {protocol}, '
            'which the weights-only reader llava_mm uses (it runs no code '
            'from files) cannot parse. Where you trust the file, load it with '
            'the code that wrote it and save it again with torch.save(obj, '
            "'new.pth') (the zip format), then load new.pth")
    if len(head) >= 10 and head[8:10] == b'{"':
        return (f'Cannot read checkpoint {path}: it is a safetensors file '
                'with another extension; rename it to end in .safetensors')
    if protocol in (2, 3, 4, 5):
        return (
            f'Refused to load {path}: it is a plain Python pickle (protocol '
            f'{protocol}, as pickle.dump writes), not a torch.save file; '
            'llava_mm does not unpickle such files because unpickling can '
            'run code. If you trust its source, convert it once: python -c '
            f'"import pickle, torch; torch.save(pickle.load(open({path!r}, '
            f"'rb')), 'new.pth')\" and load new.pth")
    return (f'Cannot read checkpoint {path}: it is not a PyTorch checkpoint '
            '(torch.save writes a zip archive). Pass the .pth/.bin file of '
            'the model, or a .safetensors file')


def _unpickling_detail(err: BaseException) -> str:
    """The reason in torch's weights-only error, without its advice."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    useful = [line for line in lines if 'weights_only' not in line
              and not line.startswith(('Weights only load failed',
                                       'Check the documentation'))]
    return next((line for line in useful if 'global' in line.lower()
                 or 'getattr' in line or 'HistoryBuffer' in line),
                useful[0] if useful else type(err).__name__)


def load_checkpoint_file(path: str,
                         map_location: Optional[Any] = 'cpu',
                         mmap: bool = True) -> Any:
    """``torch.load`` a file safely, with errors that name it.

    Args:
        path (str): A local ``.pth``/``.bin`` file.
        map_location: As for :func:`torch.load`.
        mmap (bool): Memory-map the tensors (zip-format files only).

    Returns:
        The loaded object (tensors and plain data only).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'Checkpoint not found: {path}')
    problem = _not_readable(path)
    if problem is not None:
        if problem.startswith('Refused'):
            raise UnsafeCheckpointError(problem + '.')
        raise ValueError(problem + '.')
    is_zip = zipfile.is_zipfile(path)
    try:
        with torch.serialization.safe_globals(_allowed_globals()):
            obj = torch.load(path, map_location=map_location,
                             mmap=mmap and is_zip, weights_only=True)
    except pickle.UnpicklingError as e:
        raise _refused(path, _unpickling_detail(e)[:300]) from None
    except (RuntimeError, EOFError, ValueError, OSError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else ''
        raise ValueError(
            f'Cannot read checkpoint {path}: the file is truncated or not a '
            f'PyTorch checkpoint ({type(e).__name__}: {first[:200]}). '
            'Download or save it again (an interrupted copy or save leaves '
            'a partial file).') from None
    check_plain(obj, path)
    return obj


def open_safetensors(path: str):
    """``safetensors.safe_open`` with an error that names a bad file.

    Args:
        path (str): A ``.safetensors`` file.

    Returns:
        The open handle (``keys()``, ``get_tensor(key)``).
    """
    from safetensors import SafetensorError, safe_open
    try:
        return safe_open(path, framework='pt')
    except (SafetensorError, OSError, ValueError) as e:
        raise ValueError(
            f'Cannot read {path} as a safetensors file ({e}). The file is '
            'truncated or not a safetensors file: download or save it '
            'again.') from e


def read_safetensors(path: str) -> dict:
    """All tensors of a ``.safetensors`` file (see :func:`open_safetensors`).

    Args:
        path (str): A ``.safetensors`` file.

    Returns:
        dict: Name -> tensor.
    """
    f = open_safetensors(path)
    return {k: f.get_tensor(k) for k in f.keys()}
