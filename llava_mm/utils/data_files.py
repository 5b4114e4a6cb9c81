"""Readers of annotation files (JSON, MMBench's TSV) shared by datasets and
metrics, with errors that name the file and what is wrong.
"""
import csv
import json
import os.path as osp
import sys
from typing import Any, List, Optional

# What pandas' read_table (LLaVA's MMBench reader) turns into NaN.
PANDAS_NA = frozenset((
    '', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan',
    '1.#IND', '1.#QNAN', '<NA>', 'N/A', 'NA', 'NULL', 'NaN', 'None', 'n/a',
    'nan', 'null'))


def load_json(path: str, what: str) -> Any:
    """Read a JSON annotation file with clear errors.

    Args:
        path (str): The file.
        what (str): What the file should be, for the error message (e.g.
            ``'VQAv2 questions file'``).

    Returns:
        Any: The parsed JSON.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f'{path} is not valid JSON ({e}); expected a '
                         f'{what}.') from e


def load_jsonl(path: str, what: str) -> List[dict]:
    """Read a JSON-lines file with errors naming the file and line.

    Args:
        path (str): The file.
        what (str): What it should be, for the messages (e.g.
            ``'POPE question file'``).

    Returns:
        list[dict]: One object per non-blank line.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')
    items = []
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f'{path}, line {number}: not valid JSON '
                                 f'({e}); expected a {what} (one JSON '
                                 'object per line).') from e
            if not isinstance(item, dict):
                raise ValueError(f'{path}, line {number}: expected a JSON '
                                 f'object, got {describe(item)}.')
            items.append(item)
    if not items:
        raise ValueError(f'{path}: the {what} is empty.')
    return items


def describe(obj: Any) -> str:
    """A short description of a JSON value, for format errors.

    Args:
        obj (Any): A parsed JSON value.

    Returns:
        str: E.g. ``'a list of 3 items'``.
    """
    if isinstance(obj, dict):
        return f'an object with keys {sorted(obj)[:8]}'
    if isinstance(obj, list):
        return f'a list of {len(obj)} items'
    return f'a {type(obj).__name__}'


def require_keys(item: Any, keys: tuple, path: str, where: str) -> None:
    """Raise a ValueError naming the file and entry when keys are missing.

    Args:
        item (Any): One entry of an annotation file.
        keys (tuple): Keys it must have.
        path (str): The annotation file.
        where (str): The entry's location, e.g. ``'questions[3]'``.
    """
    if not isinstance(item, dict):
        raise ValueError(f'{path}: {where} should be an object, got '
                         f'{describe(item)}.')
    missing = [k for k in keys if k not in item]
    if missing:
        raise ValueError(f'{path}: {where} lacks {missing} (it has '
                         f'{sorted(item)}).')


def mmbench_is_none(value: Optional[str]) -> bool:
    """Whether a TSV cell is empty as LLaVA's ``is_none`` sees it.

    Args:
        value (str, optional): The cell, as read (None for a missing cell).

    Returns:
        bool: True for what pandas reads as NaN and for ``'none'`` in any
        case.
    """
    return value is None or value in PANDAS_NA or value.lower() in ('nan',
                                                                    'none')


def read_tsv(path: str) -> List[dict]:
    """The rows of an MMBench TSV file (header first, quoted cells).

    Args:
        path (str): The file.

    Returns:
        list[dict]: Column -> cell text per row.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'MMBench TSV file not found: {path}')
    limit = csv.field_size_limit()
    csv.field_size_limit(sys.maxsize)  # base64 images are long cells
    try:
        with open(path, encoding='utf-8', newline='') as f:
            rows = list(csv.DictReader(f, delimiter='\t'))
    finally:
        csv.field_size_limit(limit)
    if not rows:
        raise ValueError(f'{path} has no rows.')
    missing = [c for c in ('index', 'question', 'A', 'B', 'image')
               if c not in rows[0]]
    if missing:
        raise ValueError(f'{path}: no columns {missing} (it has '
                         f'{sorted(rows[0])}); expected an MMBench TSV.')
    return rows
