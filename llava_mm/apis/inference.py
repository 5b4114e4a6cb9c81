"""The user API: ``get_model``, ``init_model``, ``inference_model``."""
import copy
from typing import Optional, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from PIL import Image

from llava_mm.registry import MODELS, TRANSFORMS
from llava_mm.utils.dtypes import to_torch_dtype
from .model_index import is_config_path, model_entry

def default_device() -> str:
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def init_model(config: Union[str, Config],
               checkpoint: Optional[str] = None,
               device: Optional[str] = None,
               dtype: Union[str, torch.dtype, None] = None,
               **kwargs) -> torch.nn.Module:
    """Build a model from a config and load a checkpoint into it.

    With a checkpoint the model is built on the meta device and the
    checkpoint's tensors are assigned (memory-mapped, cast to ``dtype``), so
    a 7B model is never randomly initialised nor held twice.

    Args:
        config (str | Config): Config file or object.
        checkpoint (str, optional): LLaVA checkpoint path or URL. None builds
            a randomly initialised model.
        device (str, optional): Defaults to CUDA when available, else CPU.
        dtype (str | torch.dtype, optional): ``'bf16'``, ``'fp16'``,
            ``'fp32'``; None keeps the checkpoint's dtype.
        **kwargs: Overrides merged into ``config.model``.

    Returns:
        Llava: The model in eval mode, with ``model.cfg`` set.
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else \
        copy.deepcopy(config)
    if kwargs:
        cfg.merge_from_dict({'model': kwargs})
    dtype = to_torch_dtype(dtype)
    model_cfg = copy.deepcopy(cfg.model)
    if checkpoint is not None:
        from llava_mm.models.loading import load_llava_checkpoint
        with torch.device('meta'):
            model = MODELS.build(model_cfg)
        load_llava_checkpoint(model, checkpoint,
                              model_cfg.vision_encoder.get('pretrained'),
                              dtype=dtype)
    else:
        model = MODELS.build(model_cfg)
        model.init_weights()
        if dtype is not None:
            model.to(dtype)
    model.cfg = cfg
    return model.to(device or default_device()).eval()


def get_model(model: Union[str, Config],
              pretrained: Union[bool, str] = True,
              device: Optional[str] = None,
              dtype: Union[str, torch.dtype, None] = None,
              **kwargs) -> torch.nn.Module:
    """Get a model by name (see :func:`list_models`) or config file.

    Args:
        model (str | Config): A model name, a config path or a Config.
        pretrained (bool | str): True loads the index's weights, False
            builds random weights, a str is a checkpoint path or URL.
        device (str, optional): Defaults to CUDA when available, else CPU.
        dtype (str | torch.dtype, optional): Parameter dtype.
        **kwargs: Overrides merged into ``config.model``, e.g.
            ``tokenizer=dict(name_or_path='/local/dir')``.

    Returns:
        Llava: The model, in eval mode.
    """
    checkpoint = None
    if isinstance(model, Config) or is_config_path(model):
        config = model
        if pretrained is True:
            raise ValueError('pretrained=True needs a model name from '
                             'list_models(); with a config file pass '
                             'pretrained=PATH or pretrained=False.')
    else:
        entry = model_entry(model)
        config = entry['Config']
        if pretrained is True:
            checkpoint = entry.get('Weights')
            if not checkpoint:
                raise ValueError(f'{model} has no released weights; pass '
                                 'pretrained=PATH.')
    if isinstance(pretrained, str):
        checkpoint = pretrained
    return init_model(config, checkpoint, device=device, dtype=dtype,
                      **kwargs)


def _test_pipeline(cfg: Config) -> Compose:
    if 'test_pipeline' in cfg:
        pipeline = cfg.test_pipeline
    else:
        pipeline = cfg.test_dataloader.dataset.pipeline
    return Compose([TRANSFORMS.build(t) for t in copy.deepcopy(pipeline)])


def inference_model(model: Union[str, torch.nn.Module],
                    image: Union[str, np.ndarray, Image.Image],
                    prompt_or_question: Optional[str] = None,
                    device: Optional[str] = None,
                    **kwargs) -> dict:
    """Caption an image or answer a question about it.

    Args:
        model (str | Llava): A model name/config path (weights are loaded)
            or a built model.
        image (str | np.ndarray | PIL.Image.Image): A path, an HxWx3 RGB
            array or a PIL image (any mode; converted to RGB).
        prompt_or_question (str, optional): The question for VQA; for a
            caption model, a custom instruction replacing the default
            caption prompt.
        device (str, optional): Device when ``model`` is a name.
        **kwargs: Generation overrides (``max_new_tokens``, ``num_beams``).

    Returns:
        dict: ``{'pred_caption': str}`` for caption models,
        ``{'question': str, 'pred_answer': str}`` for VQA models.
    """
    if isinstance(model, str):
        model = get_model(model, device=device)
    if model.task == 'vqa' and not prompt_or_question:
        raise ValueError('This is a VQA model: pass a question, e.g. '
                         "inference_model(model, img, 'What is shown?').")
    data = dict(img_path=image) if isinstance(image, str) else dict(img=image)
    if prompt_or_question is not None:
        data['question'] = prompt_or_question
    packed = _test_pipeline(model.cfg)(data)
    if prompt_or_question is not None:
        packed['data_samples'].set_field(prompt_or_question, 'question',
                                         field_type='metainfo')
    batch = model.data_preprocessor(pseudo_collate([packed]), False)
    sample = model.predict(batch['images'], batch['data_samples'],
                           **kwargs)[0]
    if model.task == 'caption':
        return {'pred_caption': sample.pred_caption}
    return {'question': prompt_or_question, 'pred_answer': sample.pred_answer}
