from .checkpoint_hook import SafeCheckpointHook
from .logger_hook import RankZeroLoggerHook
from .model_wrapper import InferenceWrapper
from .predictions import PredictionStore
from .runner import LlavaRunner
from .test_loop import ResumableTestLoop
from .visualization_hook import VisualizationHook

__all__ = [
    'InferenceWrapper', 'LlavaRunner', 'PredictionStore',
    'RankZeroLoggerHook', 'ResumableTestLoop', 'SafeCheckpointHook',
    'VisualizationHook'
]
