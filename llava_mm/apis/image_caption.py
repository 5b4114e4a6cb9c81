"""``ImageCaptionInferencer``: captions for any number of images."""
from typing import Dict, List, Optional, Union

from mmpretrain.structures import DataSample

from llava_mm.registry import INFERENCERS

from .base_inferencer import LlavaInferencer, image_item
from .model_index import list_models as _list_models


@INFERENCERS.register_module()
class ImageCaptionInferencer(LlavaInferencer):
    """Caption images with a LLaVA caption model.

    The model and its test pipeline are built once; each call batches its
    images through the model's left-padded generation.

    Args:
        model (str | Config | Llava): A caption model's name, config or the
            built model. See :class:`LlavaInferencer` for the others.

    Example:
        >>> from llava_mm.apis import ImageCaptionInferencer
        >>> inferencer = ImageCaptionInferencer('llava-tiny-shapes_caption')
        >>> inferencer('demo/shapes.png')[0]
        {'pred_caption': 'a small red circle ... .'}
    """

    task = 'caption'

    def __call__(self,
                 inputs,
                 batch_size: int = 1,
                 show: bool = False,
                 show_dir: Optional[str] = None,
                 return_datasamples: bool = False,
                 prompt: Optional[str] = None,
                 **kwargs) -> Union[List[Dict], List[DataSample]]:
        """Caption images.

        Args:
            inputs (str | np.ndarray | PIL.Image.Image | list): An image
                path, a directory (its image files, sorted), an RGB array, a
                PIL image, or a list of these.
            batch_size (int): Images per forward pass.
            show (bool): Show each drawn caption in a window.
            show_dir (str, optional): Save the drawn captions here as
                ``<image name>.png``.
            return_datasamples (bool): Return the data samples instead of
                dicts.
            prompt (str, optional): An instruction replacing the model's
                caption prompt, for every image.
            **kwargs: ``wait_time``/``resize`` for the drawing; anything
                else overrides the model's ``generation_cfg``
                (``max_new_tokens``, ``num_beams``, ...).

        Returns:
            list[dict]: ``{'pred_caption': str}`` per image, in input order.
        """
        items = [dict(image_item(img), question=prompt)
                 for img in self._images_to_list(inputs)]
        return self._run(items, batch_size, show, show_dir,
                         return_datasamples, kwargs)

    def pred_to_dict(self, pred: DataSample) -> dict:
        return {'pred_caption': pred.pred_caption}

    @staticmethod
    def list_models(pattern: Optional[str] = None) -> List[str]:
        """Names of the caption models (see :func:`list_models`)."""
        return _list_models(pattern, task='Image Caption')
