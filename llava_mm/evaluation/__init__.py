from .caption_metric import COCOCaption
from .gqa_metric import GQAAcc, gqa_prediction
from .mmbench_metric import MMBenchMetric, infer_choice
from .mme_metric import MMEMetric, mme_yes_no
from .pope_metric import POPEMetric, pope_yes_no
from .resumable_metric import ResumableMetric, resumable_metrics
from .seed_metric import SEEDAcc
from .sqa_metric import ScienceQAMetric, sqa_letter
from .textvqa_metric import TextVQAAcc, textvqa_accuracy
from .vizwiz_metric import ReportVizWiz
from .vqa_answers import evalai_answer, normalize_answer, vqa_accuracy
from .vqa_metric import ReportVQA, VQAAcc, sample_accuracy

__all__ = [
    'COCOCaption', 'GQAAcc', 'MMBenchMetric', 'MMEMetric', 'POPEMetric',
    'ReportVQA', 'ReportVizWiz', 'ResumableMetric', 'SEEDAcc',
    'ScienceQAMetric', 'TextVQAAcc', 'VQAAcc', 'evalai_answer',
    'gqa_prediction', 'infer_choice', 'mme_yes_no', 'normalize_answer',
    'pope_yes_no', 'resumable_metrics', 'sample_accuracy', 'sqa_letter',
    'textvqa_accuracy', 'vqa_accuracy'
]
