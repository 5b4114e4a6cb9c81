from .logger_hook import RankZeroLoggerHook
from .model_wrapper import InferenceWrapper
from .predictions import PredictionStore
from .test_loop import ResumableTestLoop
from .visualization_hook import VisualizationHook

__all__ = [
    'InferenceWrapper', 'PredictionStore', 'RankZeroLoggerHook',
    'ResumableTestLoop', 'VisualizationHook'
]
