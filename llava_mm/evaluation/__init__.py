from .caption_metric import COCOCaption
from .vqa_answers import evalai_answer, normalize_answer, vqa_accuracy
from .vqa_metric import ReportVQA, VQAAcc, sample_accuracy

__all__ = [
    'COCOCaption', 'ReportVQA', 'VQAAcc', 'evalai_answer', 'normalize_answer',
    'sample_accuracy', 'vqa_accuracy'
]
