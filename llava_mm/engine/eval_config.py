"""Command-line choices of ``tools/test.py`` applied to an evaluation config.

* ``--data-root DIR`` moves the test dataset **and** the ground-truth files
  of the evaluator: every path under the config's ``data_root`` is moved
  under ``DIR``, so the metric cannot read another copy of the data.
* Missing test data is named before anything is built
  (:func:`missing_data_message`).
* ``--prompt`` / ``--prompt-tmpl`` set the model's prompts verbatim and
  check them for the model (``--cfg-options`` keeps spaces too, see
  :mod:`llava_mm.utils.cfg_options`, but checks nothing).
"""
import os.path as osp
from typing import List, Optional

from mmengine.config import Config

from llava_mm.constants import IMAGE_TOKEN

# Evaluator arguments that name ground-truth files.
EVALUATOR_PATH_KEYS = ('ann_file', 'test_question_file')
# Dataset arguments that name files (relative ones follow data_root).
DATASET_PATH_KEYS = ('ann_file', 'question_file', 'label_dir', 'split_file')


def _under(path: str, root: str) -> Optional[str]:
    """``path`` relative to ``root`` when it lies under it, else None."""
    if not path:
        return None
    rel = osp.relpath(osp.abspath(path), osp.abspath(root))
    return None if rel == '..' or rel.startswith('..' + osp.sep) else rel


def _evaluator_cfgs(cfg: Config) -> list:
    evaluator = cfg.test_evaluator
    if isinstance(evaluator, dict) and 'metrics' in evaluator:
        evaluator = evaluator['metrics']
    return list(evaluator) if isinstance(evaluator, (list, tuple)) else [
        evaluator]


def apply_data_root(cfg: Config, data_root: str) -> list:
    """Move the test data and the evaluator's ground truth to ``data_root``.

    Args:
        cfg (Config): The evaluation config; changed in place.
        data_root (str): The new root of the data set.

    Returns:
        list[str]: ``"key: old -> new"`` for each path moved.

    Raises:
        ValueError: The folder does not exist, or a ground-truth file of
            the evaluator lies outside the config's ``data_root`` (it would
            not follow; give it explicitly).
    """
    if not osp.isdir(data_root):
        raise ValueError(f'--data-root {data_root}: no such folder.')
    dataset = cfg.test_dataloader.dataset
    old_root = dataset.get('data_root')
    if not old_root:
        raise ValueError('--data-root needs test_dataloader.dataset.'
                         'data_root in the config, to know what to move.')
    moved = [f'test_dataloader.dataset.data_root: {old_root} -> '
             f'{data_root}']
    dataset.data_root = data_root
    for key in DATASET_PATH_KEYS:
        path = dataset.get(key)
        rel = _under(path, old_root) if path and osp.isabs(path) else None
        if rel is not None:
            dataset[key] = osp.join(data_root, rel)
            moved.append(f'test_dataloader.dataset.{key}: {path} -> '
                         f'{dataset[key]}')
    for k, metric in enumerate(_evaluator_cfgs(cfg)):
        for key in EVALUATOR_PATH_KEYS:
            path = metric.get(key)
            if not path:
                continue
            rel = _under(path, old_root)
            if rel is None:
                raise ValueError(
                    f'--data-root: the evaluator\'s {key} {path} is not '
                    f'under the config\'s data_root {old_root}, so it cannot '
                    'be moved with the data. Give it explicitly: '
                    f'--cfg-options test_evaluator.{key}=PATH (for a list '
                    f'of metrics, metric {k}).')
            metric[key] = osp.join(data_root, rel)
            moved.append(f'test_evaluator.{key}: {path} -> {metric[key]}')
    return moved


def missing_test_data(cfg: Config) -> List[str]:
    """The test data files and folders of a config that do not exist.

    Args:
        cfg (Config): An evaluation config (after ``--data-root``).

    Returns:
        list[str]: The missing paths: the dataset's folder, its
        annotation/question files and the evaluator's ground-truth files.
    """
    dataset = cfg.test_dataloader.dataset
    root = dataset.get('data_root') or ''
    paths = [root] if root else []
    paths += [osp.join(root, dataset[key]) for key in DATASET_PATH_KEYS
              if dataset.get(key)]
    paths += [metric[key] for metric in _evaluator_cfgs(cfg)
              for key in EVALUATOR_PATH_KEYS
              if isinstance(metric, dict) and metric.get(key)]
    return [path for path in paths if not osp.exists(path)]


def missing_data_message(cfg: Config, config: str) -> Optional[str]:
    """A one-line error naming missing test data and how to get it.

    Args:
        cfg (Config): An evaluation config (after ``--data-root``).
        config (str): The config file, as given.

    Returns:
        str | None: The message, or None when the data is there.
    """
    missing = missing_test_data(cfg)
    if not missing:
        return None
    root = cfg.test_dataloader.dataset.get('data_root') or 'DIR'
    if any('shapes' in osp.basename(osp.normpath(path))
           for path in [root, *missing]):
        make = (f'make it with `python projects/tiny_shapes/make_shapes.py '
                f'--out {root} --split test --num-images 500 --seed 2024`')
    else:
        make = 'prepare it as docs/evaluation.md ("Data") says'
    more = f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''
    return (f'The test data of {config} is not there: {missing[0]} not '
            f'found{more}. Either {make}, or pass --data-root DIR for a copy '
            'elsewhere.')


def data_files(cfg: Config) -> List[str]:
    """The files a test run reads by name: the dataset's annotation and
    question files and the evaluator's ground truth (as given and under
    the dataset's ``data_root``).

    Args:
        cfg (Config): The evaluation config.

    Returns:
        list[str]: The paths (some may not exist).
    """
    dataset = cfg.test_dataloader.get('dataset') or {}
    root = dataset.get('data_root') or ''
    files = []
    for key in DATASET_PATH_KEYS:
        if isinstance(dataset.get(key), str):
            files += [dataset[key], osp.join(root, dataset[key])]
    for metric in _evaluator_cfgs(cfg):
        files += [metric[key] for key in EVALUATOR_PATH_KEYS
                  if isinstance(metric, dict)
                  and isinstance(metric.get(key), str)]
    return files


def apply_prompts(cfg: Config, prompt: Optional[str] = None,
                  prompt_tmpl: Optional[str] = None) -> None:
    """Set the model's prompts from the command line, spaces kept.

    Args:
        cfg (Config): The evaluation config; changed in place.
        prompt (str, optional): The caption instruction
            (``model.caption_prompt``); caption models only.
        prompt_tmpl (str, optional): The whole prompt template
            (``model.prompt_tmpl``) with ``<image>`` and, for VQA,
            ``{question}``; the two characters ``\\n`` become a newline.

    Raises:
        ValueError: A prompt the model cannot use.
    """
    task = cfg.model.get('task', 'caption')
    if prompt is not None:
        if task != 'caption':
            raise ValueError(
                f'--prompt sets the caption instruction, and this is a '
                f'{task} model whose prompt is each question. Change the '
                'text around the question with --prompt-tmpl.')
        if not prompt.strip() or IMAGE_TOKEN in prompt:
            raise ValueError(f'--prompt {prompt!r}: give a non-empty '
                             f'instruction without "{IMAGE_TOKEN}".')
        cfg.model.caption_prompt = prompt
    if prompt_tmpl is not None:
        prompt_tmpl = prompt_tmpl.replace('\\n', '\n')
        if prompt_tmpl.count(IMAGE_TOKEN) != 1 or (
                task == 'vqa' and '{question}' not in prompt_tmpl):
            raise ValueError(
                f'--prompt-tmpl {prompt_tmpl!r} must hold "{IMAGE_TOKEN}" '
                'once' + (' and "{question}"' if task == 'vqa' else '') +
                '.')
        cfg.model.prompt_tmpl = prompt_tmpl
