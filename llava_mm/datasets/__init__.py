from .anyres import AnyResTiles
from .coco_caption import COCOCaption
from .coco_vqa import COCOVQA
from .gqa import GQA
from .llava_eval_questions import LLaVAEvalQuestions
from .llava_instruct import LLaVAInstruct
from .mme import MME
from .mmbench import MMBench
from .pope import POPE
from .scienceqa import ScienceQA
from .textvqa import TextVQA
from .seed_bench import SEEDBench
from .samplers import LengthGroupedSampler, PhaseSampler
from .transforms import (CLIPResizeCrop, LoadImage, PackInputs, PadToSquare,
                         load_image_file, to_rgb_pil)
from .text_transforms import AppendToQuestion  # noqa: F401

__all__ = [
    'AnyResTiles', 'CLIPResizeCrop', 'COCOCaption', 'COCOVQA', 'GQA',
    'LLaVAEvalQuestions', 'LLaVAInstruct', 'LengthGroupedSampler',
    'LoadImage', 'MMBench', 'MME', 'POPE', 'PackInputs', 'PadToSquare',
    'PhaseSampler', 'SEEDBench', 'ScienceQA', 'TextVQA', 'load_image_file',
    'to_rgb_pil'
]
