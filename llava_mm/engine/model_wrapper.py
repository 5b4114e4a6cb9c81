"""A model wrapper for distributed inference without DDP."""
from torch import nn

from llava_mm.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class InferenceWrapper(nn.Module):
    """Mark a model as wrapped for a distributed test run, without DDP.

    Every rank runs its own copy of the model on its own samples; no
    gradients are synchronised. DDP would allocate gradient buckets as large
    as the trainable weights and, for a CPU model, reject the
    ``device_ids`` the Runner passes. Use it with
    ``model_wrapper_cfg = dict(type='llava_mm.InferenceWrapper')`` (the Runner
    looks wrappers up without the default scope).

    Args:
        module (nn.Module): The model (a :class:`mmengine.model.BaseModel`).
    """

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def test_step(self, data):
        """Delegate to the wrapped model.

        Args:
            data (dict | tuple | list): A batch from the dataloader.

        Returns:
            list: The predictions.
        """
        return self.module.test_step(data)

    def val_step(self, data):
        """Delegate to the wrapped model.

        Args:
            data (dict | tuple | list): A batch from the dataloader.

        Returns:
            list: The predictions.
        """
        return self.module.val_step(data)

    def train_step(self, data, optim_wrapper):
        """Refuse: training needs DDP; this wrapper is for inference only.

        Args:
            data (dict | tuple | list): A batch.
            optim_wrapper (OptimWrapper): The optimizer wrapper.
        """
        raise RuntimeError('InferenceWrapper is for testing only; train '
                           'with MMDistributedDataParallel.')
