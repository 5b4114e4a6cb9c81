"""Draw test predictions next to their ground truth (``--show-dir``)."""
import os
import os.path as osp
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
from mmengine.hooks import Hook
from mmpretrain.structures import DataSample

from llava_mm.datasets.transforms import load_image_file
from llava_mm.registry import HOOKS
from llava_mm.utils.output_paths import check_not_inputs


@HOOKS.register_module()
class VisualizationHook(Hook):
    """Draw every ``interval``-th test sample's prediction and ground truth.

    As mmpretrain's hook of the same name, for captions and answers: the
    sample's image with its ``pred_caption`` (or question and
    ``pred_answer``) and a ``GT:`` line from the dataset. A sample is drawn
    when its dataset index is a multiple of ``interval``, so the same
    samples are drawn however the run is split over processes or resumed.

    Args:
        enable (bool): Draw at all. Defaults to True.
        interval (int): Draw dataset indices ``0, interval, 2 * interval``.
        show (bool): Show each drawing in a window.
        wait_time (float): Seconds a shown window stays (0: until closed).
        out_dir (str, optional): Save ``<index>_<image name>.png`` here
            (the index zero-padded to the dataset's largest);
            None hands the drawings to the visualizer's backends.
        draw_gt (bool): Add the ground truth. Defaults to True.
        **kwargs: Other arguments of
            :meth:`~llava_mm.visualization.LlavaVisualizer.visualize_prediction`
            (``resize``, ``text_cfg``).
    """

    priority = 'NORMAL'

    def __init__(self,
                 enable: bool = True,
                 interval: int = 1,
                 show: bool = False,
                 wait_time: float = 0,
                 out_dir: Optional[str] = None,
                 draw_gt: bool = True,
                 **kwargs) -> None:
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(f'interval must be a positive integer, got '
                             f'{interval!r}.')
        self.enable = enable
        self.interval = interval
        self.out_dir = out_dir
        self.draw_args = dict(show=show, wait_time=wait_time,
                              draw_gt=draw_gt, **kwargs)
        self._order: List[int] = []

    def before_test(self, runner) -> None:
        """Check the visualizer and create ``out_dir``."""
        if not self.enable:
            return
        from llava_mm.visualization import LlavaVisualizer
        if not isinstance(runner.visualizer, LlavaVisualizer):
            raise TypeError(
                f'VisualizationHook draws with LlavaVisualizer, the runner '
                f'has {type(runner.visualizer).__name__}: set '
                "visualizer = dict(type='LlavaVisualizer', ...) in the "
                'config (configs/_base_/default_runtime.py does).')
        if self.out_dir is not None:
            os.makedirs(self.out_dir, exist_ok=True)

    def after_test_iter(self, runner, batch_idx: int, data_batch: dict,
                        outputs: Sequence[DataSample]) -> None:
        """Draw the batch's samples whose index is due.

        Args:
            runner (Runner): The runner.
            batch_idx (int): The batch's index in this process's loop.
            data_batch (dict): The collated batch.
            outputs (Sequence[DataSample]): The predictions.
        """
        if not self.enable:
            return
        loader = runner.test_loop.dataloader
        if batch_idx == 0 or not self._order:
            # The samples this process runs, in order (the loop's sampler).
            self._order = list(loader.sampler)
        start = batch_idx * loader.batch_size
        indices = self._order[start:start + len(outputs)]
        dataset = loader.dataset
        for i, (index, output) in enumerate(zip(indices, outputs)):
            if index % self.interval == 0:
                self._draw(runner, index, dataset.get_data_info(index),
                           output, data_batch['inputs'][i])

    def _draw(self, runner, index: int, info: dict, output: DataSample,
              model_input) -> None:
        # Zero-padded to the dataset's largest index: files list in order.
        width = len(str(len(runner.test_loop.dataloader.dataset) - 1))
        number = f'{index:0{width}d}'
        sample = output.clone()
        for key in ('gt_caption', 'gt_answer', 'question'):
            if key in info and key not in sample:
                field = 'metainfo' if key == 'question' else 'data'
                sample.set_field(info[key], key, field_type=field)
        if info.get('img_path'):
            image = np.asarray(load_image_file(info['img_path']))
            name = f'{number}_{Path(info["img_path"]).stem}'
        else:  # the pipeline's (3, H, W) uint8 tensor (tiles: the base)
            if model_input.ndim == 4:
                model_input = model_input[0]
            image = model_input.permute(1, 2, 0).cpu().numpy()
            name = number
        out_file = None if self.out_dir is None else osp.join(
            self.out_dir, f'{name}.png')
        if out_file is not None and info.get('img_path'):
            check_not_inputs([out_file], [info['img_path']], '--show-dir',
                             'Choose another --show-dir: a folder without '
                             'the test images, e.g. a new one.')
        runner.visualizer.visualize_prediction(
            image, sample, name=name, out_file=out_file, **self.draw_args)
