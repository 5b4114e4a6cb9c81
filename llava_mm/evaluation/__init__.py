from .caption_metric import COCOCaption
from .logger_hook import RankZeroLoggerHook
from .predictions import PredictionStore
from .test_loop import ResumableTestLoop
from .vqa_metric import ReportVQA, VQAAcc, normalize_answer, vqa_accuracy
from .wrapper import InferenceWrapper

__all__ = [
    'COCOCaption', 'InferenceWrapper', 'PredictionStore', 'RankZeroLoggerHook',
    'ReportVQA', 'ResumableTestLoop', 'VQAAcc', 'normalize_answer',
    'vqa_accuracy'
]
