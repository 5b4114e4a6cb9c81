"""Checkpoints that survive a kill and hold only plain data.

mmengine's ``CheckpointHook`` deletes the oldest checkpoint before it writes
the new one, and writes in place: a kill in between (``max_keep_ckpts=1``)
leaves ``last_checkpoint`` naming a deleted file and nothing to resume from.
:class:`SafeCheckpointHook` writes ``iter_N.pth.tmp``, renames it to
``iter_N.pth``, rewrites ``last_checkpoint`` (also through a rename) and only
then deletes the checkpoints it no longer keeps. A kill at any point leaves
``last_checkpoint`` naming a complete file.

It also saves the message hub's ``HistoryBuffer`` objects as plain tensors
(mmengine pickles them with references to functions, which a weights-only
load must refuse) and rebuilds them when a checkpoint is loaded, from that
form or from :class:`~llava_mm.utils.safe_load.PickledHistoryBuffer` (older
files).
"""
import os
import os.path as osp
from typing import Optional

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmengine.logging import HistoryBuffer
from mmengine.runner import Runner

from llava_mm.registry import HOOKS
from llava_mm.utils.safe_load import PickledHistoryBuffer

_PLAIN_HISTORY = '__history_buffer__'


def plain_message_hub(state: dict) -> dict:
    """The message hub's state with tensors instead of HistoryBuffers.

    Args:
        state (dict): ``MessageHub.state_dict()``.

    Returns:
        dict: The same keys; each ``log_scalars`` value becomes
        ``{'__history_buffer__': True, 'log_history': Tensor,
        'count_history': Tensor, 'max_length': int}`` and numpy scalars in
        ``runtime_info`` become Python numbers.
    """
    scalars = {
        k: {_PLAIN_HISTORY: True,
            'log_history': torch.from_numpy(np.asarray(v._log_history)),
            'count_history': torch.from_numpy(np.asarray(v._count_history)),
            'max_length': int(v.max_length)}
        for k, v in state['log_scalars'].items()}
    info = {k: v.item() if isinstance(v, np.generic) else v
            for k, v in state['runtime_info'].items()}
    return dict(state, log_scalars=scalars, runtime_info=info)


def restore_message_hub(state: dict, source: str) -> dict:
    """Inverse of :func:`plain_message_hub` (also takes older files).

    Args:
        state (dict): The ``message_hub`` entry of a loaded checkpoint.
        source (str): What it came from, for errors.

    Returns:
        dict: The state with real ``HistoryBuffer`` objects, for
        ``MessageHub.load_state_dict``.
    """
    scalars = {}
    for key, value in state.get('log_scalars', {}).items():
        if isinstance(value, HistoryBuffer):
            scalars[key] = value
            continue
        if isinstance(value, PickledHistoryBuffer):
            value = {'log_history': value.data.get('_log_history', []),
                     'count_history': value.data.get('_count_history', []),
                     'max_length': value.data.get('max_length', 1000000)}
        elif not (isinstance(value, dict) and value.get(_PLAIN_HISTORY)):
            raise ValueError(
                f'{source}: message_hub.log_scalars[{key!r}] is a '
                f'{type(value).__name__}, not a logged history; the file '
                'was not written by mmengine/llava_mm.')
        scalars[key] = HistoryBuffer(
            np.asarray(value['log_history']).tolist(),
            np.asarray(value['count_history']).tolist(),
            int(value['max_length']))
    for key, value in state.get('runtime_info', {}).items():
        if isinstance(value, PickledHistoryBuffer):
            raise ValueError(f'{source}: message_hub.runtime_info[{key!r}] '
                             'is a HistoryBuffer; mmengine never stores one '
                             'there. The file was tampered with.')
    return dict(state, log_scalars=scalars)


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook``, saving atomically (see the module doc).

    Same arguments as :class:`mmengine.hooks.CheckpointHook`. Remote
    storage (``backend_args``) and mmengine's ``FlexibleRunner`` (FSDP,
    DeepSpeed) fall back to mmengine's saving.
    """

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # for --resume: a run on another number of processes sees the data
        # in other batches (llava_mm.engine.resume_check)
        checkpoint.setdefault('meta', {})['world_size'] = runner.world_size
        if 'message_hub' in checkpoint:
            checkpoint['message_hub'] = plain_message_hub(
                checkpoint['message_hub'])

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # LlavaRunner has restored it already (naming the file in errors);
        # this covers other runners (FlexibleRunner).
        if 'message_hub' in checkpoint:
            checkpoint['message_hub'] = restore_message_hub(
                checkpoint['message_hub'], 'the loaded checkpoint')

    def _save_checkpoint_with_step(self, runner, step: int,
                                   meta: dict) -> None:
        if not (isinstance(self.file_backend, LocalBackend)
                and isinstance(runner, Runner)):
            # remote storage, or FlexibleRunner (sharded saves on every
            # rank): mmengine's saving
            return super()._save_checkpoint_with_step(runner, step, meta)
        stale: Optional[int] = None
        if self.max_keep_ckpts > 0 and not (
                self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                stale = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = osp.join(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir, filename + '.tmp', self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler, meta=meta,
            by_epoch=self.by_epoch, backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        _fsync_replace(self.last_ckpt + '.tmp', self.last_ckpt)
        pointer = osp.join(runner.work_dir, 'last_checkpoint')
        with open(pointer + '.tmp', 'w') as f:
            f.write(self.last_ckpt)
        _fsync_replace(pointer + '.tmp', pointer)
        if stale is not None and stale != step:
            old = osp.join(self.out_dir, self.filename_tmpl.format(stale))
            if osp.isfile(old):
                os.remove(old)


def _fsync_replace(src: str, dst: str) -> None:
    """Flush ``src`` to disk and rename it to ``dst`` (atomic on POSIX)."""
    if osp.isfile(src):
        with open(src, 'rb+') as f:
            os.fsync(f.fileno())
    os.replace(src, dst)
