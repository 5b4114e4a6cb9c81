from .caption_metric import COCOCaption
from .vqa_metric import ReportVQA, VQAAcc, normalize_answer, vqa_accuracy

__all__ = [
    'COCOCaption', 'ReportVQA', 'VQAAcc', 'normalize_answer', 'vqa_accuracy'
]
