"""What ``tools/train.py --resume`` checks before it continues a run.

mmengine's ``Runner.resume`` trusts the file: a weights-only model fails
with ``KeyError: 'meta'``, a model of another size with torch's
parameter-group error, and a changed learning rate, batch size or seed is
taken silently (the checkpoint's optimizer keeps its learning rate; data
are skipped in batches of the new size; the checkpoint's seed wins with a
warning in the log file only). :func:`check_resume` refuses each of these
with an error that names the file, what differs and what to do;
``--resume-with-changes`` accepts changed settings, which
:func:`apply_changes` then applies and prints.

The checkpoint's settings are read from ``meta['cfg']`` (the config text
mmengine saves) without running it: only literal assignments are read.
"""
import ast
import logging
from typing import Any, Dict, List, Optional, Tuple

import torch
from mmengine.logging import print_log

# Config fields that change what resuming means, with their description.
SETTINGS = {
    ('optim_wrapper', 'optimizer', 'lr'): 'learning rate',
    ('train_dataloader', 'batch_size'): 'batch size per process',
}
RESUME_FLAG = '--resume-with-changes'


class _NotLiteral(Exception):
    pass


def _literal(node: ast.AST) -> Any:
    """The value of a literal, or of ``dict(k=literal, ...)``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
            node.func.id == 'dict' and not node.args and all(
                k.arg for k in node.keywords):
        return {k.arg: _literal(k.value) for k in node.keywords}
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_literal(e) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict):
        return {_literal(k): _literal(v)
                for k, v in zip(node.keys, node.values)}
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        raise _NotLiteral from None


def config_literals(text: str) -> Dict[str, Any]:
    """Top-level assignments of a config text whose values are literals.

    Args:
        text (str): A config's ``pretty_text`` (as in ``meta['cfg']``).

    Returns:
        dict: Name -> value; other statements are skipped, nothing runs.
    """
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return {}
    values = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and \
                isinstance(stmt.targets[0], ast.Name):
            try:
                values[stmt.targets[0].id] = _literal(stmt.value)
            except _NotLiteral:
                continue
    return values


def _field(cfg: Any, keys: Tuple[str, ...]) -> Any:
    for key in keys:
        if not isinstance(cfg, dict) or key not in cfg:
            return None
        cfg = cfg[key]
    return cfg


def changed_settings(meta: dict, cfg: Any,
                     world_size: int) -> List[Tuple[str, Any, Any]]:
    """Settings of this run that differ from the checkpoint's run.

    Args:
        meta (dict): The checkpoint's ``meta``.
        cfg (Config | dict): This run's config.
        world_size (int): This run's number of processes.

    Returns:
        list[tuple]: ``(description, checkpoint's value, this run's)``.
    """
    old_cfg = config_literals(meta.get('cfg') or '')
    if hasattr(cfg, 'to_dict'):  # an mmengine Config
        cfg = cfg.to_dict()
    changes = []
    for keys, what in SETTINGS.items():
        old, new = _field(old_cfg, keys), _field(cfg, keys)
        if old is not None and new is not None and old != new:
            changes.append((f'{what} ({".".join(keys)})', old, new))
    seed = (cfg.get('randomness') or {}).get('seed')
    if meta.get('seed') is not None and seed is not None and \
            seed != meta['seed']:
        changes.append(('seed (randomness.seed)', meta['seed'], seed))
    if meta.get('world_size') not in (None, world_size):
        changes.append(('number of processes', meta['world_size'],
                        world_size))
    return changes


def _shape_mismatch(state: dict, model: torch.nn.Module) -> Optional[str]:
    """How a Runner state dict differs from the model's keys and shapes."""
    own = model.state_dict()
    state = {k[len('module.'):] if k.startswith('module.') else k: v
             for k, v in state.items()}
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    shapes = [k for k in own if k in state and hasattr(state[k], 'shape')
              and tuple(state[k].shape) != tuple(own[k].shape)]
    if shapes:
        k = shapes[0]
        return (f'{len(shapes)} tensors differ in shape, e.g. {k}: '
                f'{tuple(state[k].shape)} in the file, '
                f'{tuple(own[k].shape)} in the model')
    if missing or extra:
        return (f'{len(missing)} of the model\'s tensors are missing and '
                f'{len(extra)} are extra (e.g. '
                f'{(missing or extra)[0]})')
    return None


def check_resume(checkpoint: Any, path: str, model: torch.nn.Module,
                 cfg: Any, world_size: int,
                 allow_changes: bool) -> List[Tuple[str, Any, Any]]:
    """Refuse a checkpoint ``--resume`` cannot continue.

    Args:
        checkpoint: The loaded file.
        path (str): The file, for the errors.
        model (nn.Module): The model this run built.
        cfg (Config | dict): This run's config.
        world_size (int): This run's number of processes.
        allow_changes (bool): Accept changed settings
            (``--resume-with-changes``).

    Returns:
        list[tuple]: The changed settings (empty unless ``allow_changes``).

    Raises:
        ValueError: A weights-only file, a model of another size, or
            changed settings without ``allow_changes``.
    """
    if not (isinstance(checkpoint, dict) and isinstance(
            checkpoint.get('meta'), dict) and 'state_dict' in checkpoint):
        raise ValueError(
            f'--resume {path}: the file holds model weights only (no '
            '"meta" with the iteration, no optimizer state), e.g. a released '
            'or published model. --resume continues a tools/train.py run '
            'from its work dir\'s iter_N.pth; to train from these weights '
            f'start a new run with --cfg-options load_from={path}.')
    mismatch = _shape_mismatch(checkpoint['state_dict'], model)
    if mismatch:
        raise ValueError(
            f'--resume {path}: the checkpoint is of another model than the '
            f'config builds ({mismatch}). Resume with the config that wrote '
            'it (its work dir holds a copy), or start a new run from it '
            f'with --cfg-options load_from={path}.')
    changes = changed_settings(checkpoint['meta'], cfg, world_size)
    if changes and not allow_changes:
        listed = '; '.join(f'{what}: {old!r} in the checkpoint, {new!r} now'
                           for what, old, new in changes)
        raise ValueError(
            f'--resume {path}: this run\'s settings differ from the '
            f'checkpoint\'s run ({listed}). Resume with the settings it was '
            f'trained with, or pass {RESUME_FLAG} to continue with the new '
            'ones.')
    return changes


def apply_changes(runner, changes: List[Tuple[str, Any, Any]]) -> None:
    """Apply changed settings after mmengine's resume, and print them.

    The learning rate of every parameter group and scheduler is scaled by
    new/old, the config's seed replaces the checkpoint's, and the new batch
    size (or number of processes) is used for the remaining iterations.

    Args:
        runner (Runner): The runner, resumed.
        changes (list[tuple]): From :func:`check_resume`.
    """
    for what, old, new in changes:
        if what.startswith('learning rate'):
            ratio = new / old
            optimizer = getattr(runner.optim_wrapper, 'optimizer', None)
            for group in getattr(optimizer, 'param_groups', []):
                for key in ('lr', 'initial_lr'):
                    if key in group:
                        group[key] *= ratio
            schedulers = runner.param_schedulers or []
            if isinstance(schedulers, dict):
                schedulers = [s for v in schedulers.values() for s in v]
            for scheduler in schedulers:
                if getattr(scheduler, 'param_name', None) == 'lr':
                    scheduler.base_values = [v * ratio
                                             for v in scheduler.base_values]
            note = 'the optimizer continues at the new rate'
        elif what.startswith('seed'):
            runner._randomness_cfg.update(seed=new)
            runner.set_randomness(**runner._randomness_cfg)
            note = 'random numbers follow the new seed from here on'
        else:
            note = ('the remaining iterations use it; the data order goes '
                    'on from the resumed iteration counted in new batches')
        print_log(f'{RESUME_FLAG}: {what} changed from {old!r} to {new!r}: '
                  f'{note}.', logger='current', level=logging.WARNING)
