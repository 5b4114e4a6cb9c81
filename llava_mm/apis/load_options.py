"""How a model is loaded: one set of options for every way of getting one.

:func:`~llava_mm.apis.init_model`, :func:`~llava_mm.apis.get_model`, the
inferencers and :class:`~llava_mm.apis.LlavaChat` all take these keyword
arguments, by these names, with this meaning.
"""
import dataclasses
from typing import Optional, Union

import torch


@dataclasses.dataclass(frozen=True)
class LoadOptions:
    """Where and how a model's weights are placed.

    Args:
        device (str, optional): Defaults to CUDA when available, else CPU.
        dtype (str | torch.dtype, optional): ``'bf16'``, ``'fp16'``,
            ``'fp32'``; None keeps the checkpoint's dtype.
        quantization (str | dict, optional): ``'int8'`` or ``'nf4'``:
            weight-only low-bit LM decoder layers, quantized while the
            checkpoint is read (:mod:`llava_mm.models.quantization`).
            Defaults to the config's ``model.quantization``.
        device_map (str | dict, optional): ``'auto'`` or module name ->
            device (``'cuda:0'``, ``'cpu'``, ``'disk'``), placed by
            accelerate (:mod:`llava_mm.models.dispatch`); replaces
            ``device``.
        offload_folder (str, optional): Where ``'disk'`` modules go.
        engine (str | dict, optional): How ``generate`` runs:
            ``'auto'``, ``'eager'`` or a dict (cache, compile, prefill, CPU
            kernels; :mod:`llava_mm.generation.strategy`). None takes the
            config's top-level ``engine`` (default ``'auto'``).
    """

    device: Optional[str] = None
    dtype: Union[str, torch.dtype, None] = None
    quantization: Union[str, dict, None] = None
    device_map: Union[str, dict, None] = None
    offload_folder: Optional[str] = None
    engine: Union[str, dict, None] = None

    @classmethod
    def names(cls) -> tuple:
        """The option names, in order.

        Returns:
            tuple[str]: ``('device', 'dtype', ...)``.
        """
        return tuple(field.name for field in dataclasses.fields(cls))

    @classmethod
    def take(cls, kwargs: dict) -> 'LoadOptions':
        """Pop the loading options out of ``kwargs``.

        Args:
            kwargs (dict): Keyword arguments; what is left in it after the
                call are config overrides of ``model``.

        Returns:
            LoadOptions: The options found (the others None).
        """
        return cls(**{name: kwargs.pop(name) for name in cls.names()
                      if name in kwargs})

    def as_kwargs(self) -> dict:
        """The options as keyword arguments of :func:`init_model`.

        Returns:
            dict: Name -> value, for every option.
        """
        return {name: getattr(self, name) for name in self.names()}

    def placement_only(self, what: str) -> None:
        """Refuse options that only apply while weights are read.

        A built model can still be moved (``device``) and cast
        (``dtype``); the others decide how the checkpoint is loaded.

        Args:
            what (str): What was given instead of a name, for the message.

        Raises:
            TypeError: ``quantization``, ``device_map``, ``offload_folder``
                or ``engine`` is set.
        """
        given = [name for name in self.names()
                 if name not in ('device', 'dtype')
                 and getattr(self, name) is not None]
        if given:
            raise TypeError(f'{given}: these loading options need a model '
                            f'name or config, not {what}; pass them to '
                            'get_model/init_model.')
