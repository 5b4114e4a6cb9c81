"""mmengine's Runner with checkpoint loading that cannot run code.

``Runner.load_checkpoint`` (used by ``load_from`` and by resuming) reads the
file with :func:`~llava_mm.utils.safe_load.load_checkpoint_file`: tensors and
plain data only, and errors that name the file. The rest (hooks, loading
into the model, the message hub, optimizer and schedulers) is mmengine's.
"""
from typing import Callable, Optional, Union

from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint_to_model

from llava_mm.models.loading import resolve_file
from llava_mm.registry import RUNNERS
from llava_mm.utils.safe_load import load_checkpoint_file

from .checkpoint_hook import restore_message_hub
from .resume_check import apply_changes, check_resume


@RUNNERS.register_module()
class LlavaRunner(Runner):
    """A :class:`mmengine.runner.Runner` that loads checkpoints safely.

    ``tools/train.py`` builds it unless the config names another
    ``runner_type``. Resuming first checks the file
    (:func:`~llava_mm.engine.resume_check.check_resume`): a weights-only
    file, a model of another size and changed settings are refused, the
    last unless the config sets ``resume_with_changes=True``
    (``tools/train.py --resume-with-changes``), which applies them.
    """

    def resume(self, filename: str, *args, **kwargs) -> None:
        """mmengine's resume, checked first (see the class doc)."""
        self._resume_changes = []
        super().resume(filename, *args, **kwargs)
        apply_changes(self, self._resume_changes)

    def load_checkpoint(self,
                        filename: str,
                        map_location: Union[str, Callable] = 'cpu',
                        strict: bool = False,
                        revise_keys: Optional[list] = None) -> dict:
        """Load a checkpoint file into the model (see the module doc).

        Args:
            filename (str): A local file or an http(s) URL.
            map_location (str | callable): As for :func:`torch.load`.
            strict (bool): Require exactly the model's keys.
            revise_keys (list): ``(pattern, replacement)`` pairs applied to
                the keys. Defaults to mmengine's (strip ``module.``).

        Returns:
            dict: The loaded checkpoint.
        """
        if revise_keys is None:
            revise_keys = [(r'^module.', '')]
        option = '--resume' if self._resume else 'load_from'
        path = resolve_file(filename, option)
        checkpoint = load_checkpoint_file(path, map_location, mmap=False)
        model = self.model.module if is_model_wrapper(
            self.model) else self.model
        if self._resume:
            self._resume_changes = check_resume(
                checkpoint, path, model, self.cfg, self.world_size,
                bool(self.cfg.get('resume_with_changes')))
        if isinstance(checkpoint, dict) and 'message_hub' in checkpoint:
            checkpoint['message_hub'] = restore_message_hub(
                checkpoint['message_hub'], path)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        checkpoint = _load_checkpoint_to_model(
            model, checkpoint, strict, revise_keys=revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint
