"""Prediction files written while a test runs, read back to resume.

Each rank appends to ``<work_dir>/predictions_rank<R>.jsonl``: a header
line ``{"header": {...}}`` that fingerprints the dataset, the model config,
the checkpoint's identity (size, modification time and a hash of sampled
blocks), the run (dtype, device kind) and the prompt and generation
settings, then one line per sample, ``{"index": dataset index,
"image_id": ..., "question_id": ..., "pred_answer" | "pred_caption": ...}``,
flushed after every batch. A resumed run reads every rank's file (the
number of processes may change between runs) and refuses files whose header
does not match the current run.
"""
import glob
import hashlib
import json
import logging
import os
import os.path as osp
from typing import Any, Dict, List, Optional

import torch
from mmengine.logging import print_log

FORMAT = 'llava_mm-predictions-v2'
FILE_PATTERN = 'predictions_rank*.jsonl'
ID_KEYS = ('image_id', 'question_id')
HEADER_PARTS = ('dataset', 'model', 'checkpoint', 'runtime', 'generation')
# Where a checkpoint's content is sampled: this many blocks of this size,
# evenly spread from the first to the last byte.
SAMPLE_BLOCKS = 64
SAMPLE_BLOCK_SIZE = 64 * 1024


def stable_hash(obj: Any) -> str:
    """A short hash of a JSON-able object (dict keys sorted).

    Args:
        obj (Any): Config dicts, lists, strings, numbers.

    Returns:
        str: 16 hex digits.
    """
    text = json.dumps(obj, sort_keys=True, default=str, ensure_ascii=False)
    # surrogatepass: a lone surrogate in a question is refused where the
    # question is used, with the sample named, not here
    return hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest(
    )[:16]


def dataset_fingerprint(dataset, pipeline: Any = None) -> dict:
    """What identifies a dataset's samples, in order.

    Image paths count by file name only, so moving the data keeps the
    fingerprint.

    Args:
        dataset (BaseDataset): The test dataset.
        pipeline (Any): The test pipeline config (it changes predictions).

    Returns:
        dict: ``type``, ``num_samples`` and a ``hash`` of the pipeline and
        every sample's ids, question and image file name (not the answers:
        re-scoring stored predictions with corrected answers is fine).
    """
    samples = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        samples.append([info.get('image_id'), info.get('question_id'),
                        info.get('question'),
                        osp.basename(str(info.get('img_path')))])
    return dict(type=type(dataset).__name__, num_samples=len(dataset),
                hash=stable_hash([samples, pipeline]))


def runtime_fingerprint(model: torch.nn.Module) -> dict:
    """The dtype and device kind the model runs with.

    Args:
        model (nn.Module): The model.

    Returns:
        dict: ``dtype`` of the parameters and ``device``: ``'cpu'``, or the
        accelerator's type and name (e.g. ``'cuda: NVIDIA H200'``).
    """
    param = next(model.parameters(), None)
    if param is None:
        return dict(dtype=None, device=None)
    device = param.device
    kind = device.type
    if device.type == 'cuda':
        kind = f'cuda: {torch.cuda.get_device_name(device)}'
    return dict(dtype=str(param.dtype).replace('torch.', ''), device=kind)


def checkpoint_fingerprint(checkpoint: Optional[str]) -> dict:
    """The identity of the checkpoint file, cheap even for 14 GB.

    Size and modification time, and a SHA-256 of ``SAMPLE_BLOCKS`` blocks
    of ``SAMPLE_BLOCK_SIZE`` bytes spread evenly over the file (4 MiB read,
    whatever the size). Other weights written to the same path change at
    least the modification time.

    Args:
        checkpoint (str, optional): The checkpoint evaluated; for a
            llava-hf directory, its ``*.json``, ``*.safetensors`` and
            ``*.bin`` files together.

    Returns:
        dict: ``path`` (informative only, not compared), ``size``,
        ``mtime_ns`` and ``sampled_sha256`` (None for a URL or no
        checkpoint).
    """
    if checkpoint is not None and osp.isdir(checkpoint):
        # A llava-hf directory: its config and weight files, as one.
        names = sorted(n for n in os.listdir(checkpoint) if n.endswith(
            ('.json', '.safetensors', '.bin')))
        parts = {n: checkpoint_fingerprint(osp.join(checkpoint, n))
                 for n in names}
        return dict(path=osp.abspath(checkpoint),
                    size=sum(p['size'] for p in parts.values()),
                    mtime_ns=max((p['mtime_ns'] for p in parts.values()),
                                 default=None),
                    sampled_sha256=stable_hash(
                        [[n, p['sampled_sha256']] for n, p in parts.items()]))
    if checkpoint is None or not osp.isfile(checkpoint):
        return dict(path=checkpoint, size=None, mtime_ns=None,
                    sampled_sha256=None)
    stat = os.stat(checkpoint)
    digest = hashlib.sha256()
    last = max(stat.st_size - SAMPLE_BLOCK_SIZE, 0)
    offsets = sorted({last * k // (SAMPLE_BLOCKS - 1)
                      for k in range(SAMPLE_BLOCKS)})
    with open(checkpoint, 'rb') as f:
        for offset in offsets:
            f.seek(offset)
            digest.update(f.read(SAMPLE_BLOCK_SIZE))
    return dict(path=osp.abspath(checkpoint), size=stat.st_size,
                mtime_ns=stat.st_mtime_ns,
                sampled_sha256=digest.hexdigest())


def header_differences(part: str, stored: Any, current: Any) -> List[str]:
    """What differs between two fingerprints of one header part.

    Args:
        part (str): ``'dataset'``, ``'checkpoint'``, ...
        stored (Any): The fingerprint in the file.
        current (Any): This run's.

    Returns:
        list[str]: ``"key: file <a>, this run <b>"`` per differing key
        (the checkpoint's ``path`` is not compared: a moved file is the
        same file).
    """
    if not isinstance(stored, dict) or not isinstance(current, dict):
        return [] if stored == current else [
            f'file {stored}, this run {current}']
    skip = {'path'} if part == 'checkpoint' else set()
    return [f'{key}: file {stored.get(key)!r}, this run '
            f'{current.get(key)!r}'
            for key in sorted(set(stored) | set(current))
            if key not in skip and stored.get(key) != current.get(key)]


class PredictionStore:
    """Write this rank's predictions and read every rank's back.

    Args:
        work_dir (str): Folder of the prediction files.
        rank (int): This process's rank.
        header (dict): The fingerprints of the current run, one per
            ``HEADER_PARTS`` (``dataset``, ``model``, ``checkpoint``,
            ``runtime``, ``generation``).
    """

    def __init__(self, work_dir: str, rank: int, header: dict) -> None:
        self.work_dir = work_dir
        self.path = osp.join(work_dir, f'predictions_rank{rank}.jsonl')
        # As it reads back from the file (tuples as lists, other objects as
        # strings), so a resumed run compares like with like.
        self.header = json.loads(json.dumps(dict(format=FORMAT, **header),
                                            default=str))
        self._file = None

    def files(self) -> List[str]:
        """The prediction files of all ranks in the work dir.

        Returns:
            list[str]: Their paths, sorted.
        """
        return sorted(glob.glob(osp.join(self.work_dir, FILE_PATTERN)))

    def remove_all(self) -> int:
        """Delete every rank's prediction file (a fresh run).

        Returns:
            int: How many files were deleted.
        """
        files = self.files()
        for path in files:
            os.remove(path)
        return len(files)

    def load_all(self) -> Dict[int, dict]:
        """Read every rank's file; one record per dataset index.

        Returns:
            dict: Dataset index -> record.
        """
        records: Dict[int, dict] = {}
        duplicates = 0
        for path in self.files():
            for record in self._read(path):
                if record['index'] in records:
                    duplicates += 1
                    continue
                records[record['index']] = record
        if duplicates:
            print_log(f'{duplicates} predictions found twice in '
                      f'{self.work_dir}; the first of each is used.',
                      logger='current', level=logging.WARNING)
        return records

    def _read(self, path: str) -> List[dict]:
        with open(path, 'rb') as f:
            lines = f.read().split(b'\n')
        # Bytes after the last newline are a line cut off by a killed
        # process, possibly inside a UTF-8 character: decode only the
        # complete lines.
        complete, tail = lines[:-1], lines[-1]
        if tail:
            print_log(f'{path}: ignoring an incomplete last line (the run '
                      'was interrupted while writing it).', logger='current',
                      level=logging.WARNING)
        if not complete:
            return []
        self._check_header(path, complete[0])
        records = []
        for number, line in enumerate(complete[1:], 2):
            try:
                record = json.loads(line.decode('utf-8'))
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                raise ValueError(f'{path}, line {number}: not valid JSON '
                                 f'({e}). Delete the file to regenerate its '
                                 'predictions.') from e
            if not isinstance(record, dict) or not isinstance(
                    record.get('index'), int):
                raise ValueError(f'{path}, line {number}: not a prediction '
                                 'record (no integer "index").')
            records.append(record)
        return records

    def _check_header(self, path: str, line: bytes) -> None:
        try:
            header = json.loads(line.decode('utf-8')).get('header')
        except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
            header = None
        if not isinstance(header, dict) or not str(
                header.get('format')).startswith('llava_mm-predictions-'):
            raise ValueError(
                f'{path} is not a llava_mm prediction file (its first line '
                f'is no "{FORMAT}" header). Move it out of the work dir.')
        if header['format'] != FORMAT:
            raise ValueError(
                f'Cannot resume from {path}: it was written by another '
                f'version of llava_mm ({header["format"]}, this one writes '
                f'{FORMAT}) and its setup cannot be checked. Run without '
                '--resume to start over.')
        for part in HEADER_PARTS:
            diffs = header_differences(part, header.get(part),
                                       self.header.get(part))
            if diffs:
                raise ValueError(
                    f'Cannot resume from {path}: it holds predictions of a '
                    f'different {part} ({"; ".join(diffs)}). Resuming would '
                    'mix predictions of two setups. Use another --work-dir, '
                    'or run without --resume to start over (it deletes the '
                    'old predictions).')

    def open(self) -> None:
        """Open this rank's file for appending (header first if new).

        An incomplete last line left by a killed run is cut off first.
        """
        if osp.isfile(self.path):
            with open(self.path, 'rb+') as f:
                data = f.read()
                end = data.rfind(b'\n') + 1
                if end != len(data):
                    f.truncate(end)
            if end == 0:  # not even the header survived
                os.remove(self.path)
        new = not osp.isfile(self.path)
        self._file = open(self.path, 'a', encoding='utf-8')
        if new:
            self._write_lines([dict(header=self.header)])

    def write(self, records: List[dict]) -> None:
        """Append records and flush them to the file.

        Args:
            records (list[dict]): One per sample, with ``index``.
        """
        self._write_lines(records)

    def _write_lines(self, objs: List[dict]) -> None:
        if self._file is None:
            raise RuntimeError('PredictionStore.open() was not called.')
        self._file.write(''.join(
            json.dumps(o, ensure_ascii=False) + '\n' for o in objs))
        self._file.flush()

    def close(self) -> None:
        """Close this rank's file."""
        if self._file is not None:
            self._file.close()
            self._file = None
