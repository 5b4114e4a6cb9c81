"""The model index: names, configs and weights of the released models."""
import fnmatch
import os.path as osp
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional

import yaml

# What mmengine's Config.fromfile reads; llava_mm's configs are .py files.
CONFIG_EXTENSIONS = ('.py', '.json', '.yaml', '.yml')


def package_root() -> Path:
    """Folder holding ``configs/`` and ``model-index.yml``.

    The repository root for a source checkout or editable install, else the
    copy that ``setup.py`` places in ``llava_mm/.mim``.
    """
    here = Path(__file__).resolve().parents[1]
    for root in (here.parent, here / '.mim'):
        if (root / 'model-index.yml').is_file():
            return root
    raise FileNotFoundError(
        'Cannot find model-index.yml next to the llava_mm package or in '
        'llava_mm/.mim; reinstall llava_mm (`pip install -e .`).')


@lru_cache()
def load_model_index() -> Dict[str, dict]:
    """All models of the index, by name.

    Returns:
        dict: name -> entry with absolute ``Config`` and ``Weights``.
    """
    root = package_root()
    index = yaml.safe_load((root / 'model-index.yml').read_text())
    models = {}
    for meta in index['Import']:
        for entry in yaml.safe_load((root / meta).read_text())['Models']:
            entry = dict(entry)
            entry['Config'] = str(root / entry['Config'])
            weights = entry.get('Weights')
            if weights and not weights.startswith(('http://', 'https://')):
                entry['Weights'] = str(root / weights)
            models[entry['Name']] = entry
    return models


def _matches(name: str, pattern: str) -> bool:
    """Shell-style match; a pattern without wildcards matches substrings."""
    if not any(c in pattern for c in '*?['):
        pattern = f'*{pattern}*'
    return fnmatch.fnmatch(name, pattern)


def model_tasks(entry: dict) -> List[str]:
    """The tasks of an index entry's ``Results`` (``'Image Caption'``,
    ``'Visual Question Answering'``)."""
    return [r['Task'] for r in entry.get('Results') or []]


def list_models(pattern: Optional[str] = None,
                exclude_patterns: Optional[List[str]] = None,
                task: Optional[str] = None) -> List[str]:
    """Names of the models in the index (mmpretrain's arguments).

    Args:
        pattern (str, optional): Shell-style filter, e.g. ``'*vqa'``;
            ``'llava'`` alone matches names containing it.
        exclude_patterns (list[str], optional): Drop names matching any of
            these (same pattern rules).
        task (str, optional): Only models evaluated on this task:
            ``'Image Caption'`` or ``'Visual Question Answering'``.

    Returns:
        list[str]: Sorted names.
    """
    index = load_model_index()
    if isinstance(exclude_patterns, str):
        exclude_patterns = [exclude_patterns]
    if task is not None:
        known = sorted({t for e in index.values() for t in model_tasks(e)})
        if task not in known:
            raise ValueError(f'Unknown task {task!r}; the index has {known}.')
    names = []
    for name in sorted(index):
        if pattern is not None and not _matches(name, pattern):
            continue
        if any(_matches(name, p) for p in exclude_patterns or ()):
            continue
        if task is not None and task not in model_tasks(index[name]):
            continue
        names.append(name)
    return names


def model_entry(name: str) -> dict:
    """The index entry of ``name`` with a helpful error for a typo."""
    models = load_model_index()
    if name not in models and (name.endswith(CONFIG_EXTENSIONS)
                               or osp.sep in name):
        raise FileNotFoundError(
            f'Config file not found: {name}. Pass an existing config path '
            '(e.g. configs/llava/llava-7b-v1.5_caption.py) or a model name '
            'from list_models().')
    if name not in models:
        close = [n for n in models if name.split('_')[0] in n] or sorted(
            models)
        raise ValueError(f'Unknown model {name!r}. Known models: {close}. '
                         'A config file path works too.')
    return models[name]


def is_config_path(name: str) -> bool:
    """Whether ``name`` is an existing config file (``.py``, or the
    ``.json``/``.yaml``/``.yml`` that mmengine also reads)."""
    return name.endswith(CONFIG_EXTENSIONS) and osp.isfile(name)
