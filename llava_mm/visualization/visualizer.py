"""Captions and answers drawn on images, with mmpretrain's visualizer.

``mmpretrain.visualization`` imports without ``mmpretrain.models``; its
:class:`UniversalVisualizer` draws a ``pred_caption`` or a question and its
``pred_answer`` on an image. :class:`LlavaVisualizer` picks the right one for
a llava_mm data sample, adds the ground truth when the sample has one and
enlarges small images so that the text stays legible.
"""
from typing import Optional

import numpy as np
from mmpretrain.structures import DataSample
from mmpretrain.visualization import UniversalVisualizer

from llava_mm.registry import VISUALIZERS

VISUALIZERS.register_module(module=UniversalVisualizer)


def ground_truth_text(data_sample: DataSample) -> Optional[str]:
    """The ground truth of a sample as one line, or None without one.

    Args:
        data_sample (DataSample): With ``gt_caption`` (a str or a list of
            references) or ``gt_answer`` (a str or the distinct answers).

    Returns:
        str | None: The first reference caption (with the number of others)
        or the answers joined by ``' / '``.
    """
    caption = data_sample.get('gt_caption')
    if caption is not None:
        if isinstance(caption, str):
            return caption
        more = f' (+{len(caption) - 1} more)' if len(caption) > 1 else ''
        return f'{caption[0]}{more}'
    answer = data_sample.get('gt_answer')
    if answer is not None:
        return answer if isinstance(answer, str) else ' / '.join(
            map(str, answer))
    return None


@VISUALIZERS.register_module()
class LlavaVisualizer(UniversalVisualizer):
    """Draw a llava_mm prediction (caption or answer) on its image.

    Args:
        name (str): The instance name (mmengine visualizers are named
            global instances).
        min_size (int): Images whose short edge is shorter are enlarged to
            it before drawing (the text scales with the image: a 64-pixel
            image would get 2-point text). Defaults to 256.
        **kwargs: Arguments of :class:`UniversalVisualizer`.
    """

    def __init__(self, name: str = 'visualizer', min_size: int = 256,
                 **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.min_size = min_size

    def visualize_prediction(self,
                             image: np.ndarray,
                             data_sample: DataSample,
                             draw_gt: bool = True,
                             resize: Optional[int] = None,
                             **kwargs) -> np.ndarray:
        """Draw a sample's caption, or its question and answer.

        Args:
            image (np.ndarray): HxWx3 RGB uint8.
            data_sample (DataSample): With ``pred_caption`` or
                ``pred_answer`` (and ``question``).
            draw_gt (bool): Add a ``GT:`` line when the sample has ground
                truth (``gt_caption``/``gt_answer``).
            resize (int, optional): Short edge to draw at. Defaults to the
                image's own, or ``min_size`` when that is shorter.
            **kwargs: ``show``, ``wait_time``, ``out_file``, ``name``,
                ``step``, ``text_cfg`` of the mmpretrain methods.

        Returns:
            np.ndarray: The drawn RGB image.
        """
        if resize is None and min(image.shape[:2]) < self.min_size:
            resize = self.min_size
        gt = ground_truth_text(data_sample) if draw_gt else None
        if 'pred_answer' in data_sample:
            field, draw = 'pred_answer', self.visualize_vqa
        elif 'pred_caption' in data_sample:
            field, draw = 'pred_caption', self.visualize_image_caption
        else:
            raise KeyError('The data sample has neither "pred_caption" nor '
                           '"pred_answer"; run the model on it first.')
        if gt is not None:
            # The mmpretrain methods draw the prediction field only: give
            # them a copy whose prediction carries the ground-truth line.
            shown = data_sample.clone()
            pred = data_sample.get(field)
            shown.set_field(f'{pred}\nGT: {gt}', field)
            data_sample = shown
        return draw(image, data_sample, resize=resize, **kwargs)
