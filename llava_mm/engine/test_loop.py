"""A test loop that writes predictions as it goes and can resume.

mmengine's ``TestLoop`` keeps predictions in memory and pads the last
batch across ranks. This loop instead

* appends each sample's prediction to a per-rank JSONL file in the work dir
  (:class:`PredictionStore`), flushed after every batch;
* with ``resume=True`` reads every rank's file and generates only the
  missing samples; files of another dataset, model config or checkpoint are
  refused;
* shows a progress bar with the ETA of this rank's share (rank 0);
* shards the missing samples over the ranks without padding, and feeds the
  evaluator from the files, so each sample is scored exactly once and a
  resumed run scores exactly what an uninterrupted one does;
* with ``out`` writes all predictions at the end, each with its ids and
  what the metrics log of it (question, ground truth, per-sample score),
  like lmms-eval's ``--log_samples``.
"""
import logging
import os.path as osp
import sys
import time
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.dist import (
    barrier,
    broadcast_object_list,
    get_dist_info,
    is_main_process,
)
from mmengine.evaluator import Evaluator
from mmengine.fileio import dump
from mmengine.logging import print_log
from mmengine.runner import TestLoop
from mmengine.runner.amp import autocast
from torch.utils.data import DataLoader
from tqdm import tqdm

from llava_mm.evaluation.resumable_metric import resumable_metrics
from llava_mm.models.sequence import ContextLengthError
from llava_mm.registry import LOOPS

from .batching import group_by_length, prompt_lengths
from .predictions import (
    ID_KEYS,
    PredictionStore,
    checkpoint_fingerprint,
    dataset_fingerprint,
    runtime_fingerprint,
    stable_hash,
)
from .run_lock import WorkDirLock

OUT_FORMATS = ('.json', '.pkl', '.pickle', '.yaml', '.yml')


def check_out_format(path: str, option: str = 'out') -> None:
    """Refuse a predictions file that ``mmengine.dump`` cannot write.

    Args:
        path (str): The file given for the predictions.
        option (str): What named it, for the message (``'--out'``).

    Raises:
        ValueError: Its extension is not one of :data:`OUT_FORMATS`.
    """
    if not path.endswith(OUT_FORMATS):
        raise ValueError(f'{option} {path}: use a file ending in one of '
                         f'{OUT_FORMATS}.')


@LOOPS.register_module()
class ResumableTestLoop(TestLoop):
    """Test loop with predictions on disk, resumable, exact in DDP.

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): The test dataloader. Its batch size,
            workers and collate function are used; its sampler is replaced
            by a deterministic split of the samples still to predict.
        evaluator (Evaluator | dict | list): The metrics.
        fp16 (bool): Run the model under autocast.
        resume (bool): Keep the prediction files of the work dir and
            generate only missing samples. False deletes them first.
        out (str, optional): Write all predictions with their ids to this
            file at the end (``.json``, ``.pkl`` or ``.yaml``).
        checkpoint (str, optional): The checkpoint being evaluated; part of
            the fingerprint that guards resuming.
        max_batches (int, optional): Stop after this many batches per rank
            without evaluating (e.g. to fit a job's time limit); rerun with
            ``resume=True`` to continue.
        group_by_length (bool): Run each rank's samples longest question
            first, so batches carry little padding
            (:mod:`~llava_mm.engine.batching`); the predictions do not
            change. Defaults to True.
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 evaluator: Union[Evaluator, Dict, List],
                 fp16: bool = False,
                 resume: bool = False,
                 out: Optional[str] = None,
                 checkpoint: Optional[str] = None,
                 max_batches: Optional[int] = None,
                 group_by_length: bool = True) -> None:
        if out is not None:
            check_out_format(out)
        if max_batches is not None and max_batches < 1:
            raise ValueError(f'max_batches must be >= 1, got {max_batches}.')
        super().__init__(runner, dataloader, evaluator, fp16)
        self.resume = resume
        self.out = out
        self.checkpoint = checkpoint
        self.max_batches = max_batches
        self.group_by_length = group_by_length
        for metric in resumable_metrics(self.evaluator.metrics):
            metric.set_work_dir(runner.work_dir)

    # ----------------------------------------------------------- fingerprint
    def _header(self) -> dict:
        cfg = self.runner.cfg
        pipeline = cfg.get('test_dataloader', {}).get('dataset', {}).get(
            'pipeline')
        model_cfg = cfg.get('model')
        if model_cfg is None:  # a runner built without the config
            model = self.runner.model
            model = getattr(model, 'module', model)
            model_cfg = {k: getattr(model, k, None) for k in (
                'task', 'prompt_tmpl', 'caption_prompt', 'generation_cfg')}
        model = self._model()
        return dict(
            dataset=dataset_fingerprint(self.dataset, pipeline),
            model=dict(type=type(model).__name__,
                       hash=stable_hash(model_cfg)),
            checkpoint=checkpoint_fingerprint(self.checkpoint),
            runtime=runtime_fingerprint(model),
            generation={k: getattr(model, k, None) for k in (
                'task', 'prompt_tmpl', 'caption_prompt', 'generation_cfg')})

    def _lock_work_dir(self) -> WorkDirLock:
        """Rank 0 takes the work dir's lock; every rank learns whether it
        could (a refused rank 0 must not leave the others waiting)."""
        lock = WorkDirLock(self.runner.work_dir)
        error = [None]
        if is_main_process():
            try:
                lock.acquire()
            except RuntimeError as e:
                error[0] = str(e)
        broadcast_object_list(error)
        if error[0] is not None:
            raise RuntimeError(error[0])
        return lock

    def _model(self) -> torch.nn.Module:
        model = self.runner.model
        return getattr(model, 'module', model)

    # ------------------------------------------------------------------ run
    def run(self) -> dict:
        """Predict the missing samples, then evaluate all of them.

        Returns:
            dict: The metrics; empty when ``max_batches`` stopped the run
            before every sample was predicted.
        """
        self.runner.call_hook('before_test')
        self.runner.call_hook('before_test_epoch')
        self.runner.model.eval()
        self.dataset = self.dataloader.dataset
        rank, world_size = get_dist_info()
        for metric in resumable_metrics(self.evaluator.metrics):
            # Ground truth of another copy of the data fails here, before
            # any generation.
            metric.check_dataset(self.dataset)
        self.store = PredictionStore(self.runner.work_dir, rank,
                                     self._header())
        lock = self._lock_work_dir()
        try:
            metrics = self._run_locked(rank, world_size)
        finally:
            lock.release()
        self.runner.call_hook('after_test_epoch', metrics=metrics)
        self.runner.call_hook('after_test')
        return metrics

    def _run_locked(self, rank: int, world_size: int) -> dict:
        """Predict and evaluate, with the work dir locked."""
        if not self.resume and is_main_process():
            removed = self.store.remove_all()
            if removed:
                print_log(f'Deleted {removed} prediction files of an earlier '
                          f'run in {self.runner.work_dir} (pass --resume to '
                          'continue from them instead).', logger='current',
                          level=logging.WARNING)
        barrier()
        done = self.store.load_all() if self.resume else {}
        barrier()  # everyone has read before anyone appends
        missing = [i for i in range(len(self.dataset)) if i not in done]
        mine = missing[rank::world_size]
        if self.group_by_length:
            mine = group_by_length(mine, prompt_lengths(
                self.dataset, mine, getattr(self._model(), 'tokenizer', None)))
        if self.resume:
            print_log(f'{len(done)} of {len(self.dataset)} predictions '
                      f'restored from {self.runner.work_dir}; '
                      f'{len(missing)} to generate ({len(mine)} on this '
                      'rank).', logger='current')
        else:
            print_log(f'{len(missing)} samples to predict ({len(mine)} on '
                      f'this rank); predictions go to {self.store.path}.',
                      logger='current')
        self.dataloader = self._loader(mine)
        batch_size = self.dataloader.batch_size
        todo = len(mine) if self.max_batches is None else min(
            len(mine), self.max_batches * batch_size)
        bar = tqdm(total=todo, desc='Predicting', unit='sample',
                   file=sys.stderr, dynamic_ncols=True,
                   disable=not is_main_process() or not todo)
        self.store.open()
        start, predicted = time.perf_counter(), 0
        try:
            for idx, data_batch in enumerate(self.dataloader):
                if self.max_batches is not None and idx >= self.max_batches:
                    break
                indices = mine[idx * batch_size:(idx + 1) * batch_size]
                self.run_iter(idx, data_batch, indices)
                bar.update(len(indices))
                predicted += len(indices)
        finally:
            bar.close()
            self.store.close()
        if predicted:
            seconds = time.perf_counter() - start
            print_log(f'Predicted {predicted} samples in {seconds:.1f} s '
                      f'({predicted / seconds:.3f} samples/s on this rank).',
                      logger='current')
        barrier()
        start = time.perf_counter()
        metrics = self._evaluate(self.store.load_all(), rank, world_size)
        if metrics:
            print_log(f'Scored in {time.perf_counter() - start:.1f} s.',
                      logger='current')
        return metrics

    def _loader(self, indices: List[int]) -> DataLoader:
        """The configured dataloader, restricted to ``indices`` in order."""
        dl = self.dataloader
        return DataLoader(
            dl.dataset, batch_size=dl.batch_size, sampler=indices,
            num_workers=dl.num_workers, collate_fn=dl.collate_fn,
            pin_memory=dl.pin_memory, worker_init_fn=dl.worker_init_fn,
            drop_last=False)

    @torch.no_grad()
    def run_iter(self, idx: int, data_batch: dict,
                 indices: Sequence[int]) -> None:
        """Predict one batch and append the predictions to the file.

        Args:
            idx (int): Batch index.
            data_batch (dict): The collated batch.
            indices (Sequence[int]): Dataset indices of its samples.
        """
        self.runner.call_hook(
            'before_test_iter', batch_idx=idx, data_batch=data_batch)
        try:
            with autocast(enabled=self.fp16):
                outputs = self.runner.model.test_step(data_batch)
        except ContextLengthError as e:
            raise ContextLengthError(
                f'{self._describe(indices[e.sample])}: {e}',
                e.sample) from None
        except ValueError as e:
            if type(e) is not ValueError:  # errors with their own type
                raise
            where = '; '.join(self._describe(i) for i in indices[:4])
            more = f' and {len(indices) - 4} more' if len(indices) > 4 else ''
            raise ValueError(f'While predicting {where}{more}: {e}') from e
        if len(outputs) != len(indices):
            raise RuntimeError(f'Batch {idx}: {len(outputs)} outputs for '
                               f'{len(indices)} samples.')
        self.store.write(
            [self._record(i, out) for i, out in zip(indices, outputs)])
        self.runner.call_hook(
            'after_test_iter', batch_idx=idx, data_batch=data_batch,
            outputs=outputs)

    def _describe(self, index: int) -> str:
        """A dataset sample as a user finds it: index, ids, question."""
        info = self.dataset.get_data_info(index)
        ids = ', '.join(f'{k}={info[k]}' for k in ID_KEYS if k in info)
        text = f'sample {index}' + (f' ({ids})' if ids else '')
        question = info.get('question')
        if isinstance(question, str):
            short = question if len(question) <= 60 else question[:57] + '...'
            text += f', question {short!r}'
        return text

    def _record(self, index: int, output) -> dict:
        """The JSON line of one prediction: index, ids and ``pred_*``."""
        info = self.dataset.get_data_info(index)
        record = dict(index=index)
        for key in ID_KEYS:
            if key in info:
                record[key] = info[key]
                given = output.get(key)
                if given is not None and given != info[key]:
                    raise RuntimeError(
                        f'Sample {index}: the model output has {key} '
                        f'{given}, the dataset {info[key]}; the batch order '
                        'does not follow the sampler.')
        preds = {k: v for k, v in output.to_dict().items()
                 if k.startswith('pred_')}
        if not preds:
            raise KeyError(f'The model output of sample {index} has no '
                           '"pred_*" field.')
        record.update(preds)
        return record

    # ------------------------------------------------------------- evaluate
    def _evaluate(self, records: Dict[int, dict], rank: int,
                  world_size: int) -> dict:
        """Score every sample once, from the prediction files.

        Every rank read the same files: rank r processes the r-th share of
        the sorted indices and the evaluator gathers them in order.
        """
        n = len(self.dataset)
        unknown = [i for i in records if not 0 <= i < n]
        if unknown:
            raise ValueError(f'Prediction files in {self.runner.work_dir} '
                             f'hold indices outside the dataset ({n} '
                             f'samples), e.g. {unknown[:5]}.')
        if len(records) < n:
            stopped = self.max_batches is not None
            if not stopped:
                absent = [i for i in range(n) if i not in records][:5]
                raise RuntimeError(
                    f'Only {len(records)} of {n} samples have predictions '
                    f'after the run (missing e.g. {absent}).')
            print_log(f'Stopped after max_batches={self.max_batches}: '
                      f'{len(records)} of {n} samples predicted. Run again '
                      'with --resume to finish; no metrics yet.',
                      logger='current')
            return {}
        order = sorted(records)
        for index in order[rank::world_size]:
            self.evaluator.process(
                data_samples=[self._metric_input(index, records[index])],
                data_batch=None)
        metrics = self.evaluator.evaluate(n)
        if self.out is not None and is_main_process():
            dump([self._out_record(i, records[i]) for i in order], self.out)
            print_log(f'Wrote {n} predictions to {self.out}.',
                      logger='current')
        return metrics

    def _out_record(self, index: int, record: dict) -> dict:
        """A stored prediction with what each metric logs of its sample
        (question, ground truth, per-sample score), for ``--out``."""
        out = dict(record)
        sample = self._metric_input(index, record)
        for metric in resumable_metrics(self.evaluator.metrics):
            out.update(metric.sample_log(sample))
        return out

    def _metric_input(self, index: int, record: dict) -> dict:
        """Ground truth of the dataset plus the stored prediction."""
        info = self.dataset.get_data_info(index)
        for key in ID_KEYS:
            if key in record and record[key] != info.get(key):
                raise ValueError(
                    f'The stored prediction of sample {index} is for {key} '
                    f'{record[key]}, the dataset has {info.get(key)}. '
                    f'Delete the prediction files in '
                    f'{osp.abspath(self.runner.work_dir)} and rerun.')
        info.update({k: v for k, v in record.items()
                     if k.startswith('pred_')})
        return info
