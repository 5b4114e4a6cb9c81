"""The user API: ``get_model``, ``init_model``, ``inference_model``."""
import copy
import os.path as osp
from typing import List, Optional, Union

import torch
from mmengine.config import Config

from llava_mm.generation.engine import attach_engine
from llava_mm.generation.strategy import check_setting
from llava_mm.models.loading import check_local_file
from llava_mm.models.quantization import parse_quantization
from llava_mm.registry import MODELS
from llava_mm.utils.devices import check_device
from llava_mm.utils.dtypes import to_torch_dtype
from llava_mm.utils.generation_args import check_generation_cfg
from llava_mm.utils.hub import check_local_path

from .load_options import LoadOptions
from .model_index import is_config_path, model_entry


def default_device() -> str:
    return 'cuda' if torch.cuda.is_available() else 'cpu'


def init_model(config: Union[str, Config],
               checkpoint: Optional[str] = None,
               device: Optional[str] = None,
               dtype: Union[str, torch.dtype, None] = None,
               quantization: Union[str, dict, None] = None,
               device_map: Union[str, dict, None] = None,
               offload_folder: Optional[str] = None,
               engine: Union[str, dict, None] = None,
               **kwargs) -> torch.nn.Module:
    """Build a model from a config and load a checkpoint into it.

    With a checkpoint the model is built on the meta device and the
    checkpoint's tensors are assigned (memory-mapped, cast to ``dtype``), so
    a 7B model is never randomly initialised nor held twice.

    Args:
        config (str | Config): Config file or object.
        checkpoint (str, optional): LLaVA checkpoint path or URL. None builds
            a randomly initialised model.
        device, dtype, quantization, device_map, offload_folder, engine:
            The loading options; each is described by :class:`LoadOptions`
            (the inferencers, ``get_model`` and ``LlavaChat`` take the same).
        **kwargs: Overrides merged into ``config.model``.

    Returns:
        Llava: The model in eval mode, with ``model.cfg`` set and its
        generation engine (``model.engine``) chosen for the device.
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else \
        copy.deepcopy(config)
    if kwargs:
        cfg.merge_from_dict({'model': kwargs})
    dtype = to_torch_dtype(dtype)
    if device is not None:
        check_device(device)
    if engine is None:
        engine = cfg.get('engine', 'auto')
    check_setting(engine)  # before anything slow
    model_cfg = copy.deepcopy(cfg.model)
    check_generation_cfg(dict(model_cfg.get('generation_cfg') or {}))
    check_local_files(model_cfg, checkpoint)
    from_cfg = model_cfg.pop('quantization', None)
    quant = parse_quantization(from_cfg if quantization is None
                               else quantization)
    if quant is not None and (checkpoint is None or device_map is not None):
        raise ValueError(
            f'quantization={quant["type"]!r} needs a checkpoint (it is '
            'applied while the file is read) and no device_map: pass '
            'checkpoint=PATH and device=... instead.')
    if device_map is not None and device is not None:
        raise ValueError('Pass either device or device_map, not both.')
    if checkpoint is not None:
        from llava_mm.models.loading import load_llava_checkpoint
        with torch.device('meta'):
            model = MODELS.build(model_cfg)
        load_llava_checkpoint(model, checkpoint,
                              model_cfg.vision_encoder.get('pretrained'),
                              dtype=dtype, quantization=quant,
                              device=None if device_map is not None
                              else device or default_device())
    else:
        model = MODELS.build(model_cfg)
        model.init_weights()
        if dtype is not None:
            model.to(dtype)
    model.cfg = cfg
    if device_map is not None:
        from llava_mm.models.dispatch import dispatch
        model.device_map = dispatch(model, device_map, offload_folder)
    else:
        model = model.to(device or default_device())
    attach_engine(model, engine, quantization=quant and quant['type'],
                  kernels=device_map is None)
    return model.eval()


def check_local_files(model_cfg: Config, checkpoint: Optional[str]) -> None:
    """Fail before anything slow when a local file or folder is missing.

    Args:
        model_cfg (Config): The config's ``model``.
        checkpoint (str, optional): The checkpoint path or URL.

    Raises:
        FileNotFoundError: The checkpoint, tokenizer or language-model path
            does not exist (hub names and URLs are not checked here).
    """
    # A folder is a llava-hf checkpoint: load_llava_checkpoint converts it.
    if checkpoint is not None and not osp.isdir(checkpoint):
        check_local_file(checkpoint, 'pretrained')
    for key, what in (('tokenizer', 'tokenizer'),
                      ('lang_encoder', 'language-model')):
        name = (model_cfg.get(key) or {}).get('name_or_path')
        if isinstance(name, str):
            check_local_path(name, what, f'model.{key}.name_or_path')


def get_model(model: Union[str, Config],
              pretrained: Union[bool, str] = True,
              **kwargs) -> torch.nn.Module:
    """Get a model by name (see :func:`list_models`) or config file.

    Args:
        model (str | Config): A model name, a config path or a Config.
        pretrained (bool | str): True loads the index's weights, False
            builds random weights, a str is a checkpoint path or URL.
        **kwargs: The loading options of :class:`LoadOptions` (``device``,
            ``dtype``, ``quantization``, ``device_map``,
            ``offload_folder``, ``engine``); the other keywords are
            overrides merged into ``config.model``, e.g.
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
    options = LoadOptions.take(kwargs)
    return init_model(config, checkpoint, **options.as_kwargs(), **kwargs)


def prepare_model(model: Union[str, Config, torch.nn.Module],
                  pretrained: Union[bool, str] = True,
                  **kwargs) -> torch.nn.Module:
    """The model an inferencer or a chat runs: loaded, or a built one.

    Args:
        model (str | Config | Llava): A model name or config (loaded by
            :func:`get_model`), or a built model (with ``model.cfg``, as
            ``get_model`` and ``init_model`` return).
        pretrained (bool | str): As in :func:`get_model`; a str is also
            loaded into a built model.
        **kwargs: Loading options (:class:`LoadOptions`) and config
            overrides, as in :func:`get_model`. A built model takes
            ``device`` and ``dtype`` only (it is moved and cast).

    Returns:
        Llava: The model, in eval mode.
    """
    options = LoadOptions.take(kwargs)
    if not isinstance(model, torch.nn.Module):
        return get_model(model, pretrained, **options.as_kwargs(), **kwargs)
    if kwargs:
        raise TypeError(f'{sorted(kwargs)}: config overrides need a model '
                        'name or config, not a built model.')
    options.placement_only('a built model')
    if not hasattr(model, 'cfg'):
        raise ValueError(
            'The model has no .cfg (the test pipeline lives there): '
            'build it with llava_mm.get_model/init_model, or pass the '
            'model name or config instead.')
    dtype = to_torch_dtype(options.dtype)
    if isinstance(pretrained, str):
        from llava_mm.models.loading import load_llava_checkpoint
        load_llava_checkpoint(
            model, pretrained,
            model.cfg.model.vision_encoder.get('pretrained'), dtype=dtype)
    if dtype is not None:
        model.to(dtype)
    if options.device is not None:
        model.to(options.device)
    return model.eval()


# The inferencer of the last model inference_model built by name: a second
# call with the same name and settings reuses it instead of loading again.
_LAST_BUILT: dict = {}


def get_inferencer(model: torch.nn.Module):
    """The inferencer of a built model's task.

    Args:
        model (Llava): A model from :func:`get_model`/:func:`init_model`.

    Returns:
        ImageCaptionInferencer | VisualQuestionAnsweringInferencer: For
        ``model.task`` ``'caption'`` or ``'vqa'``.
    """
    from .image_caption import ImageCaptionInferencer
    from .vqa import VisualQuestionAnsweringInferencer
    cls = VisualQuestionAnsweringInferencer if model.task == 'vqa' else \
        ImageCaptionInferencer
    return cls(model)


def _inferencer_for(model: Union[str, Config, torch.nn.Module],
                    device: Optional[str],
                    dtype: Union[str, torch.dtype, None]):
    """The inferencer of ``model`` (the last one built by name is kept)."""
    if isinstance(model, torch.nn.Module):
        return get_inferencer(model)
    if not isinstance(model, str):
        return get_inferencer(get_model(model, device=device, dtype=dtype))
    key = (model, device, str(dtype))
    if _LAST_BUILT.get('key') != key:
        _LAST_BUILT.clear()  # drop the previous model before loading
        inferencer = get_inferencer(
            get_model(model, device=device, dtype=dtype))
        _LAST_BUILT.update(key=key, inferencer=inferencer)
    return _LAST_BUILT['inferencer']


def inference_model(model: Union[str, Config, torch.nn.Module],
                    image_or_images,
                    prompt_or_question: Union[str, List[str], None] = None,
                    device: Optional[str] = None,
                    dtype: Union[str, torch.dtype, None] = None,
                    **kwargs) -> Union[dict, List[dict]]:
    """Caption images or answer questions about them.

    A shortcut to :class:`ImageCaptionInferencer` and
    :class:`VisualQuestionAnsweringInferencer`. Called with a name or config
    path, the model built last is kept: calling again with the same name,
    ``device`` and ``dtype`` does not load it again.

    Args:
        model (str | Config | Llava): A model name/config path (weights are
            loaded) or a built model.
        image_or_images: A path, an HxWx3 RGB array or a PIL image; a
            directory or a list of these. VQA also takes
            ``{'image': ..., 'question': ...}`` dicts.
        prompt_or_question (str | list[str], optional): The question(s) for
            VQA (one per image, one for all, or many about one image); for
            a caption model, an instruction replacing the caption prompt.
        device (str, optional): Device when ``model`` is a name.
        dtype (str | torch.dtype, optional): Dtype when ``model`` is a name.
        **kwargs: ``batch_size``, ``show``, ``show_dir`` and generation
            overrides (``max_new_tokens``, ``num_beams``) of the
            inferencer's ``__call__``.

    Returns:
        dict | list[dict]: ``{'pred_caption': str}`` for caption models,
        ``{'question': str, 'pred_answer': str}`` for VQA models; a list
        when several images or questions were given.
    """
    inferencer = _inferencer_for(model, device, dtype)
    many = isinstance(image_or_images, (list, tuple)) or isinstance(
        prompt_or_question, (list, tuple)) or (
            isinstance(image_or_images, str) and osp.isdir(image_or_images))
    if inferencer.task == 'vqa':
        has_dicts = isinstance(image_or_images, dict) or (
            many and all(isinstance(x, dict) for x in image_or_images))
        if not prompt_or_question and not has_dicts:
            raise ValueError(
                'This is a VQA model: pass a question, e.g. '
                "inference_model(model, img, 'What is shown?').")
        results = inferencer(image_or_images, prompt_or_question, **kwargs)
    else:
        if isinstance(prompt_or_question, (list, tuple)):
            raise ValueError('A caption model takes one prompt for all '
                             'images, not a list.')
        results = inferencer(image_or_images, prompt=prompt_or_question,
                             **kwargs)
    return results if many else results[0]
