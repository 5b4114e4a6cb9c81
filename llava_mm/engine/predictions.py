"""Prediction files written while a test runs, read back to resume.

Each rank appends to ``<work_dir>/predictions_rank<R>.jsonl``: a header
line ``{"header": {...}}`` that fingerprints the dataset, the model config
and the checkpoint, then one line per sample, ``{"index": dataset index,
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

from mmengine.logging import print_log

FORMAT = 'llava_mm-predictions-v1'
FILE_PATTERN = 'predictions_rank*.jsonl'
ID_KEYS = ('image_id', 'question_id')


def stable_hash(obj: Any) -> str:
    """A short hash of a JSON-able object (dict keys sorted).

    Args:
        obj (Any): Config dicts, lists, strings, numbers.

    Returns:
        str: 16 hex digits.
    """
    text = json.dumps(obj, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


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


def checkpoint_fingerprint(checkpoint: Optional[str]) -> dict:
    """Absolute path and size of the checkpoint file.

    Args:
        checkpoint (str, optional): The checkpoint evaluated.

    Returns:
        dict: ``path`` and ``size`` (None for a URL or no checkpoint).
    """
    if checkpoint is None or not osp.isfile(checkpoint):
        return dict(path=checkpoint, size=None)
    return dict(path=osp.abspath(checkpoint),
                size=osp.getsize(checkpoint))


class PredictionStore:
    """Write this rank's predictions and read every rank's back.

    Args:
        work_dir (str): Folder of the prediction files.
        rank (int): This process's rank.
        header (dict): ``dataset``, ``model`` and ``checkpoint``
            fingerprints of the current run.
    """

    def __init__(self, work_dir: str, rank: int, header: dict) -> None:
        self.work_dir = work_dir
        self.path = osp.join(work_dir, f'predictions_rank{rank}.jsonl')
        self.header = dict(format=FORMAT, **header)
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
        with open(path, encoding='utf-8') as f:
            lines = f.read().split('\n')
        # Text after the last newline is a line cut off by a killed process.
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
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f'{path}, line {number}: not valid JSON '
                                 f'({e}). Delete the file to regenerate its '
                                 'predictions.') from e
            if not isinstance(record, dict) or not isinstance(
                    record.get('index'), int):
                raise ValueError(f'{path}, line {number}: not a prediction '
                                 'record (no integer "index").')
            records.append(record)
        return records

    def _check_header(self, path: str, line: str) -> None:
        try:
            header = json.loads(line).get('header')
        except (json.JSONDecodeError, AttributeError):
            header = None
        if not isinstance(header, dict) or header.get('format') != FORMAT:
            raise ValueError(
                f'{path} is not a llava_mm prediction file (its first line '
                f'is no "{FORMAT}" header). Move it out of the work dir.')
        for part in ('dataset', 'model', 'checkpoint'):
            if header.get(part) != self.header[part]:
                raise ValueError(
                    f'Cannot resume from {path}: it holds predictions of a '
                    f'different {part} (file: {header.get(part)}; this run: '
                    f'{self.header[part]}). Resuming would mix predictions '
                    'of two setups. Use another --work-dir, or run without '
                    '--resume to start over (it deletes the old '
                    'predictions).')

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
