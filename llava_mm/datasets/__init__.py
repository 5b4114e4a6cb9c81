from .coco_caption import COCOCaption
from .coco_vqa import COCOVQA
from .llava_eval_questions import LLaVAEvalQuestions
from .llava_instruct import LLaVAInstruct
from .mme import MME
from .pope import POPE
from .scienceqa import ScienceQA
from .samplers import LengthGroupedSampler, PhaseSampler
from .transforms import (CLIPResizeCrop, LoadImage, PackInputs, PadToSquare,
                         load_image_file, to_rgb_pil)
from .text_transforms import AppendToQuestion  # noqa: F401

__all__ = [
    'CLIPResizeCrop', 'COCOCaption', 'COCOVQA', 'LLaVAEvalQuestions',
    'LLaVAInstruct', 'MME', 'POPE',
    'LengthGroupedSampler', 'LoadImage',
    'PackInputs', 'PhaseSampler',
    'PadToSquare', 'ScienceQA', 'load_image_file', 'to_rgb_pil'
]
