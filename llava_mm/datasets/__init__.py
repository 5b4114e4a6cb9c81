from llava_mm.utils.lazy import lazy_exports

from .anyres import AnyResTiles
from .gqa import GQA
from .llava_eval_questions import LLaVAEvalQuestions
from .llava_instruct import LLaVAInstruct
from .mmbench import MMBench
from .mme import MME
from .pack_inputs import PackInputs
from .pope import POPE
from .samplers import LengthGroupedSampler, PhaseSampler
from .scienceqa import ScienceQA
from .seed_bench import SEEDBench
from .text_transforms import AppendToQuestion  # noqa: F401
from .textvqa import TextVQA
from .transforms import (
    CLIPResizeCrop,
    LoadImage,
    PadToSquare,
    load_image_file,
    to_rgb_pil,
)

# The COCO datasets subclass mmpretrain's, whose package imports all of its
# datasets: they load when used (a config's dataset is built through the
# DATASETS registry's locations, llava_mm/registry.py).
__getattr__, __dir__, _lazy = lazy_exports(__name__, {
    'COCOCaption': '.coco_caption',
    'COCOVQA': '.coco_vqa',
})

__all__ = [
    'AnyResTiles', 'CLIPResizeCrop', 'GQA', 'LLaVAEvalQuestions',
    'LLaVAInstruct', 'LengthGroupedSampler', 'LoadImage', 'MMBench', 'MME',
    'POPE', 'PackInputs', 'PadToSquare', 'PhaseSampler', 'SEEDBench',
    'ScienceQA', 'TextVQA', 'load_image_file', 'to_rgb_pil', *_lazy
]
