"""What the caption and VQA inferencers share (mmengine's BaseInferencer).

An inferencer builds (or takes) a model and its test pipeline once, then
turns any number of images into batches that go through the model's
``predict``: the left-padded, KV-cached generation ``tools/test.py`` runs.
"""
import copy
import math
import os
import os.path as osp
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.infer import BaseInferencer
from mmpretrain.structures import DataSample
from rich.console import Console
from rich.progress import track

from llava_mm.datasets.transforms import load_image_file, to_rgb_pil
from llava_mm.registry import TRANSFORMS
from llava_mm.utils.output_paths import check_not_inputs

from .inference import prepare_model

# What a directory given as input contributes (other files are skipped).
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.gif', '.tif',
                    '.tiff', '.webp', '.ppm', '.pgm')
TASK_NAMES = {'caption': 'caption', 'vqa': 'VQA'}
INFERENCER_OF_TASK = {'caption': 'ImageCaptionInferencer',
                      'vqa': 'VisualQuestionAnsweringInferencer'}


def build_test_pipeline(cfg: Config) -> Compose:
    """The test pipeline of a config (``test_pipeline`` or the test set's).

    Args:
        cfg (Config): A llava_mm config.

    Returns:
        Compose: ``LoadImage`` ... ``PackInputs``; takes ``img_path`` or
        ``img``.
    """
    if 'test_pipeline' in cfg:
        pipeline = cfg.test_pipeline
    else:
        pipeline = cfg.test_dataloader.dataset.pipeline
    return Compose([TRANSFORMS.build(t) for t in copy.deepcopy(pipeline)])


def list_image_dir(path: str) -> List[str]:
    """Image files directly in a directory, sorted by name.

    Args:
        path (str): The directory.

    Returns:
        list[str]: Paths of the files with an image extension.
    """
    names = sorted(n for n in os.listdir(path)
                   if n.lower().endswith(IMAGE_EXTENSIONS)
                   and osp.isfile(osp.join(path, n)))
    if not names:
        raise FileNotFoundError(
            f'No image files ({", ".join(IMAGE_EXTENSIONS)}) in the '
            f'directory {path}.')
    return [osp.join(path, n) for n in names]


def image_item(image) -> dict:
    """Pipeline input for one image: ``img_path`` for a path, else ``img``.

    Args:
        image (str | Path | np.ndarray | PIL.Image.Image): The image; it is
            checked by the pipeline's ``LoadImage``.

    Returns:
        dict: ``{'img_path': str}`` or ``{'img': image}``.
    """
    if isinstance(image, (str, Path)):
        return dict(img_path=str(image))
    return dict(img=image)


class LlavaInferencer(BaseInferencer):
    """Base of :class:`ImageCaptionInferencer` and
    :class:`VisualQuestionAnsweringInferencer`.

    mmengine's ``__init__`` is not used: it looks models up in mmengine's
    registries and its own metafile reader; a LLaVA model comes from
    :func:`~llava_mm.apis.get_model` (meta-device build, memory-mapped
    weights).

    Args:
        model (str | Config | Llava): A model name (see
            :func:`~llava_mm.apis.list_models`), a config path or Config, or
            a built model (with ``model.cfg``, as ``get_model`` and
            ``init_model`` return).
        pretrained (bool | str): True loads the index's weights, False
            keeps random ones, a str is a checkpoint path or URL (also
            loaded into a built model).
        show_progress (bool): Show a progress bar for more than one batch.
        **kwargs: The loading options of
            :class:`~llava_mm.apis.load_options.LoadOptions` (``device``,
            ``dtype``, ``quantization``, ...) and config overrides of
            ``model``, as :func:`~llava_mm.apis.get_model` takes them; a
            built model is only moved (``device``) and cast (``dtype``).
    """

    task = ''
    visualize_kwargs = {'show', 'show_dir', 'wait_time', 'resize'}

    def __init__(self,
                 model: Union[str, Config, torch.nn.Module],
                 pretrained: Union[bool, str] = True,
                 show_progress: bool = True,
                 **kwargs) -> None:
        self.scope = 'llava_mm'
        model = prepare_model(model, pretrained, **kwargs)
        if getattr(model, 'task', None) != self.task:
            raise ValueError(
                f'{type(self).__name__} needs a {TASK_NAMES[self.task]} '
                f'model; this one is a {TASK_NAMES.get(model.task)} model. '
                f'Use {INFERENCER_OF_TASK[model.task]}.')
        self.model = model
        self.cfg = model.cfg
        self.pipeline = self._init_pipeline(self.cfg)
        self.collate_fn = pseudo_collate
        self.visualizer = None
        self.show_progress = show_progress

    def _init_pipeline(self, cfg: Config) -> Compose:
        return build_test_pipeline(cfg)

    # ---------------------------------------------------------------- call
    @staticmethod
    def _images_to_list(images) -> list:
        """One image, a directory or a list of either -> a list of images."""
        if not isinstance(images, (list, tuple)):
            images = [images]
        out = []
        for image in images:
            if isinstance(image, (str, Path)) and osp.isdir(image):
                out.extend(list_image_dir(str(image)))
            else:
                out.append(image)
        if not out:
            raise ValueError('No images given: pass an image path, a '
                             'directory, an array, a PIL image or a list.')
        return out

    def _run(self, items: List[dict], batch_size: int, show: bool,
             show_dir: Optional[str], return_datasamples: bool,
             kwargs: dict) -> list:
        """Predict, draw and pack ``items`` (pipeline input dicts)."""
        if show:  # refuse before generating, rather than hang after
            from llava_mm.visualization.display import check_can_show
            check_can_show()
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f'batch_size must be a positive integer, got '
                             f'{batch_size!r}.')
        vis_kwargs = {k: kwargs.pop(k) for k in list(kwargs)
                      if k in self.visualize_kwargs}
        if show_dir is not None:  # refuse before generating
            self._drawing_files(items, show_dir)
        batches = self.preprocess(items, batch_size=batch_size)
        num_batches = math.ceil(len(items) / batch_size)
        if self.show_progress and num_batches > 1:
            batches = track(batches, description='Inference',
                            total=num_batches,
                            console=Console(stderr=True))
        preds = []
        for data in batches:
            preds.extend(self.forward(data, **kwargs))
        visualization = self.visualize(items, preds, show=show,
                                       show_dir=show_dir, **vis_kwargs)
        return self.postprocess(preds, visualization, return_datasamples)

    def preprocess(self, inputs: List[dict], batch_size: int = 1):
        """Run the pipeline on each input and collate batches.

        Args:
            inputs (list[dict]): ``img_path`` or ``img``, and ``question``
                (None: the model's caption prompt).
            batch_size (int): Samples per batch.

        Yields:
            dict: ``inputs`` and ``data_samples`` of one batch.
        """
        def pack(item: dict) -> dict:
            packed = self.pipeline(dict(item))
            sample = packed['data_samples']
            question = item.get('question')
            if question is not None:
                sample.set_field(question, 'question', field_type='metainfo')
            if 'img_path' in item:
                sample.set_field(item['img_path'], 'img_path',
                                 field_type='metainfo')
            return packed

        chunks = self._get_chunk_data(map(pack, inputs), batch_size)
        yield from map(self.collate_fn, chunks)

    @torch.no_grad()
    def forward(self, inputs: dict, **generation) -> List[DataSample]:
        """Generate for one batch.

        Args:
            inputs (dict): A collated batch from :meth:`preprocess`.
            **generation: Overrides of the model's ``generation_cfg``
                (``max_new_tokens``, ``num_beams``, ...).

        Returns:
            list[DataSample]: With ``pred_caption`` or ``pred_answer``.
        """
        batch = self.model.data_preprocessor(inputs, False)
        return self.model.predict(batch['images'], batch['data_samples'],
                                  **generation)

    # ----------------------------------------------------------- visualise
    def visualize(self,
                  inputs: List[dict],
                  preds: List[DataSample],
                  show: bool = False,
                  show_dir: Optional[str] = None,
                  wait_time: float = 0,
                  resize: Optional[int] = None) -> Optional[List[np.ndarray]]:
        """Draw each prediction on its image; save under ``show_dir``.

        Args:
            inputs (list[dict]): The pipeline inputs of :meth:`__call__`.
            preds (list[DataSample]): The predictions.
            show (bool): Show each drawing in a window.
            show_dir (str, optional): Save ``<image name>.png`` files here.
            wait_time (float): Seconds a shown window stays (0: until
                closed).
            resize (int, optional): Short edge to draw at (default: the
                image's own, at least 256 pixels).

        Returns:
            list[np.ndarray] | None: The drawn RGB images, or None when
            neither ``show`` nor ``show_dir`` is set.
        """
        if not show and show_dir is None:
            return None
        if self.visualizer is None:
            from llava_mm.visualization import LlavaVisualizer
            self.visualizer = LlavaVisualizer(
                name=f'llava_mm_inferencer_{id(self)}')
        out_files = [None] * len(inputs)
        if show_dir is not None:
            out_files = self._drawing_files(inputs, show_dir)
            os.makedirs(show_dir, exist_ok=True)
        drawn = []
        for name, out_file, item, pred in zip(self._drawing_names(inputs),
                                              out_files, inputs, preds):
            if 'img_path' in item:
                image = load_image_file(item['img_path'])
            else:
                image = to_rgb_pil(item['img'])
            drawn.append(self.visualizer.visualize_prediction(
                np.asarray(image), pred, draw_gt=False, resize=resize,
                show=show, wait_time=wait_time, name=name,
                out_file=out_file))
        if show:
            self.visualizer.close()
        return drawn

    @classmethod
    def _drawing_files(cls, inputs: Sequence[dict], show_dir: str,
                       option: str = 'show_dir') -> List[str]:
        """The drawings' paths; refuses any that is one of the inputs, and a
        ``show_dir`` that is a file (``option`` names it in the errors)."""
        if osp.exists(show_dir) and not osp.isdir(show_dir):
            raise NotADirectoryError(f'{option} {show_dir} is a file: name a '
                                     'folder for the drawings.')
        files = [osp.join(show_dir, f'{name}.png')
                 for name in cls._drawing_names(inputs)]
        check_not_inputs(
            files, [item['img_path'] for item in inputs if 'img_path' in item],
            option, f'Choose another {option}: a folder without the input '
            'images, e.g. a new one.')
        return files

    @staticmethod
    def _drawing_names(inputs: Sequence[dict]) -> List[str]:
        """File stems of the drawings: the image's (its index when the stem
        is only dots, as for ``..png``), else its index; a repeated stem
        (one image with several questions) gets ``_<n>`` appended."""
        names, seen = [], {}
        for i, item in enumerate(inputs):
            path = item.get('img_path')
            stem = Path(path).stem if path is not None else ''
            if not stem.strip('.'):
                stem = str(i)
            count = seen.get(stem, 0)
            seen[stem] = count + 1
            names.append(stem if count == 0 else f'{stem}_{count}')
        return names

    # ---------------------------------------------------------- postprocess
    def postprocess(self,
                    preds: List[DataSample],
                    visualization: Optional[List[np.ndarray]] = None,
                    return_datasamples: bool = False
                    ) -> Union[List[Dict], List[DataSample]]:
        """JSON-serialisable results (or the data samples).

        Args:
            preds (list[DataSample]): The predictions.
            visualization (list[np.ndarray], optional): Unused; the drawings
                are saved or shown by :meth:`visualize`.
            return_datasamples (bool): Return ``preds`` as they are.

        Returns:
            list[dict] | list[DataSample]: One result per input.
        """
        if return_datasamples:
            return preds
        return [self.pred_to_dict(p) for p in preds]

    def pred_to_dict(self, pred: DataSample) -> dict:
        """One prediction as the dict :func:`inference_model` returns."""
        raise NotImplementedError
