"""COCO caption metrics with pycocoevalcap's scorers, offline.

``COCOEvalCap.evaluate()`` always runs SPICE, whose first use downloads
Stanford CoreNLP; this metric calls the scorers itself: the PTB tokenizer,
BLEU-1..4, METEOR, ROUGE-L and CIDEr (all shipped with pycocoevalcap, run
on Java), and SPICE only when its CoreNLP jars are installed.
"""
import logging
import os
import os.path as osp
import shutil
import sys
import tempfile
from contextlib import contextmanager
from typing import Dict, List, Optional, Sequence

from mmengine.logging import print_log

from llava_mm.registry import METRICS
from llava_mm.utils.data_files import describe, load_json, require_keys

from .resumable_metric import ResumableMetric

SPICE_JARS = ('stanford-corenlp-3.6.0.jar',
              'stanford-corenlp-3.6.0-models.jar')


def spice_available() -> bool:
    """Whether SPICE's Stanford CoreNLP jars are installed (no download).

    Returns:
        bool: True when ``pycocoevalcap/spice/lib`` holds both jars.
    """
    import pycocoevalcap.spice as spice
    lib = osp.join(osp.dirname(spice.__file__), 'lib')
    return all(osp.isfile(osp.join(lib, jar)) for jar in SPICE_JARS)


def require_java() -> None:
    """Fail early, with what to do, when Java is not installed."""
    if shutil.which('java') is None:
        raise RuntimeError(
            'The COCO caption metrics need Java (pycocoevalcap runs the '
            'Stanford PTB tokenizer and METEOR as Java programs), and no '
            '"java" is on PATH. Install a JRE (e.g. `apt-get install '
            'default-jre-headless` or `conda install openjdk`) and retry.')


def load_coco_captions(ann_file: str) -> Dict[int, List[str]]:
    """Reference captions of a COCO-format caption file.

    Args:
        ann_file (str): ``{"images": [{"id"}], "annotations":
            [{"image_id", "id", "caption"}]}``.

    Returns:
        dict: Image id -> its captions.
    """
    data = load_json(ann_file, 'COCO-format caption ground-truth file')
    if not isinstance(data, dict) or not isinstance(
            data.get('annotations'), list):
        raise ValueError(
            f'{ann_file}: expected COCO caption format {{"images": [...], '
            '"annotations": [{"image_id", "id", "caption"}, ...]}, got '
            f'{describe(data)}. (The Karpathy list [{{"image", "caption"}}] '
            'is the dataset\'s ann_file, not the metric\'s.)')
    captions: Dict[int, List[str]] = {}
    for i, ann in enumerate(data['annotations']):
        require_keys(ann, ('image_id', 'caption'), ann_file,
                     f'annotations[{i}]')
        captions.setdefault(int(ann['image_id']), []).append(ann['caption'])
    if not captions:
        raise ValueError(f'{ann_file}: "annotations" is empty.')
    return captions


_METEOR = []


def meteor_scorer():
    """pycocoevalcap's METEOR scorer, one per process.

    Its Java process spends ~10 s loading the paraphrase tables; it is kept
    for later evaluations (e.g. validation every epoch) and restarted if it
    has exited.

    Returns:
        Meteor: A running scorer.
    """
    from pycocoevalcap.meteor.meteor import Meteor
    if not _METEOR or _METEOR[0].meteor_p.poll() is not None:
        _METEOR[:] = [Meteor()]
    return _METEOR[0]


@METRICS.register_module()
class COCOCaption(ResumableMetric):
    """BLEU-1..4, METEOR, ROUGE-L, CIDEr (and SPICE) of COCO captions.

    Scores are pycocoevalcap's (0-1 scale), keys as in ``COCOEvalCap``:
    ``Bleu_1``...``Bleu_4``, ``METEOR``, ``ROUGE_L``, ``CIDEr``, ``SPICE``.
    Only the images predicted are scored; an image predicted twice counts
    once.

    Args:
        ann_file (str): COCO-format ground-truth captions.
        spice (bool, optional): None runs SPICE when its CoreNLP jars are
            installed and otherwise skips it with one warning; True requires
            it; False skips it.
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Metric name prefix.
    """

    def __init__(self,
                 ann_file: str,
                 spice: Optional[bool] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        require_java()
        if spice and not spice_available():
            raise RuntimeError(
                'spice=True but SPICE\'s Stanford CoreNLP jars '
                f'{SPICE_JARS} are not in pycocoevalcap/spice/lib. Run '
                '`python -m pycocoevalcap.spice.get_stanford_models` (needs '
                'internet) or set spice=None/False.')
        self.ann_file = ann_file
        self.spice = spice
        self.references = load_coco_captions(ann_file)

    def check_dataset(self, dataset) -> None:
        """Check, before any prediction, that the dataset's images and
        captions are those of ``ann_file``.

        Args:
            dataset (BaseDataset): The test dataset (``image_id`` and, if
                it has them, ``gt_caption`` per sample).

        Raises:
            ValueError: Image ids of the dataset are missing from
                ``ann_file``, or most images share no caption with it (two
                copies of a data set, e.g. another ``data_root``).
        """
        infos = [dataset.get_data_info(i) for i in range(len(dataset))]
        ids = [int(info['image_id']) for info in infos]
        missing = sorted(set(ids) - set(self.references))
        if missing:
            raise ValueError(
                f'{len(missing)} of the {len(set(ids))} images of the test '
                f'dataset are not in the caption metric\'s ann_file '
                f'{self.ann_file} (first ids: {missing[:5]}): the dataset '
                'and the ground truth do not belong together. Pass '
                '--data-root to move both, or set test_evaluator.ann_file.')
        with_refs = [info for info in infos if info.get('gt_caption')]
        disjoint = [
            int(info['image_id']) for info in with_refs
            if not _caption_set(info['gt_caption']) & _caption_set(
                self.references[int(info['image_id'])])]
        if with_refs and 2 * len(disjoint) > len(with_refs):
            raise ValueError(
                f'{len(disjoint)} of {len(with_refs)} images of the test '
                'dataset share no caption with the caption metric\'s '
                f'ann_file {self.ann_file} (first ids: {disjoint[:5]}): '
                'they are two different data sets with the same image ids. '
                'Pass --data-root to move both, or set '
                'test_evaluator.ann_file.')
        if disjoint:
            print_log(f'COCOCaption: {len(disjoint)} images share no caption '
                      f'with {self.ann_file} (first ids: {disjoint[:5]}).',
                      logger='current', level=logging.WARNING)

    def sample_log(self, sample: dict) -> dict:
        """What ``--out`` records of one sample, beside its prediction.

        Args:
            sample (dict): The dataset's sample with ``image_id``.

        Returns:
            dict: ``references``, the captions of ``ann_file`` that the
            prediction is scored against.
        """
        return dict(references=list(self.references.get(
            int(sample['image_id']), [])))

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep image id and caption of each sample.

        Args:
            data_batch: Unused.
            data_samples (Sequence[dict]): Predictions.
        """
        for sample in data_samples:
            caption, image_id = sample.get('pred_caption'), sample.get(
                'image_id')
            if caption is None or image_id is None:
                raise KeyError('COCOCaption needs "pred_caption" and '
                               '"image_id" in each sample.')
            self.results.append(dict(image_id=int(image_id),
                                     caption=caption))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Tokenise with the PTB tokenizer and run the scorers.

        Args:
            results (list[dict]): ``image_id`` and ``caption`` per sample.

        Returns:
            dict: Metric name -> score.
        """
        from pycocoevalcap.bleu.bleu import Bleu
        from pycocoevalcap.cider.cider import Cider
        from pycocoevalcap.rouge.rouge import Rouge
        from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

        predictions: Dict[int, str] = {}
        for r in results:
            predictions.setdefault(r['image_id'], r['caption'])
        unknown = sorted(set(predictions) - set(self.references))
        if unknown:
            raise ValueError(
                f'{len(unknown)} predicted image ids are not in '
                f'{self.ann_file} (first: {unknown[:5]}); the dataset and '
                'the metric\'s ann_file do not belong together.')
        if len(predictions) < len(self.references):
            print_log(f'COCOCaption: scoring {len(predictions)} of the '
                      f'{len(self.references)} images of {self.ann_file}.',
                      logger='current')
        ids = sorted(predictions)
        # The tokenizer reads one caption per line: no line breaks inside.
        gts = {i: [{'caption': _one_line(c)} for c in self.references[i]]
               for i in ids}
        res = {i: [{'caption': _one_line(predictions[i])}] for i in ids}
        tokenizer = PTBTokenizer()
        # The Java tokenizer reports on stderr; that goes to the log file.
        with _stderr_to_log('PTB tokenizer'):
            gts, res = tokenizer.tokenize(gts), tokenizer.tokenize(res)

        metrics: Dict[str, float] = {}
        bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
        for n, score in enumerate(bleu, 1):
            metrics[f'Bleu_{n}'] = float(score)
        metrics['METEOR'] = float(meteor_scorer().compute_score(gts,
                                                                res)[0])
        metrics['ROUGE_L'] = float(Rouge().compute_score(gts, res)[0])
        metrics['CIDEr'] = float(Cider().compute_score(gts, res)[0])
        if self.spice is not False:
            if spice_available():
                from pycocoevalcap.spice.spice import Spice
                metrics['SPICE'] = float(Spice().compute_score(gts, res)[0])
            else:
                print_log(
                    'COCOCaption: SPICE skipped: its Stanford CoreNLP jars '
                    'are not installed (`python -m pycocoevalcap.spice.'
                    'get_stanford_models` downloads them).',
                    logger='current', level=logging.WARNING)
        return metrics


@contextmanager
def _stderr_to_log(source: str):
    """Collect what subprocesses write to this process's stderr (file
    descriptor 2) and log it at INFO level (the log file) instead."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode('utf-8', 'replace').strip()
            if text:
                print_log(f'{source}: {text}', logger='current')


def _caption_set(captions) -> set:
    """Captions compared loosely: lower case, single spaces."""
    if isinstance(captions, str):
        captions = [captions]
    return {' '.join(c.lower().split()) for c in captions}


def _one_line(text: str) -> str:
    return ' '.join(text.splitlines())
