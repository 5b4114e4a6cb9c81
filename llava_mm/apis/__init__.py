from .inference import get_model, inference_model, init_model
from .model_index import list_models

__all__ = ['get_model', 'inference_model', 'init_model', 'list_models']
