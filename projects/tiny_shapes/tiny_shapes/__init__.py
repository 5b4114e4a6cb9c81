import llava_mm  # noqa: F401  (first: its start-up, llava_mm.utils.third_party)

from .tag_pretrainer import CaptionTagPretrainer

__all__ = ['CaptionTagPretrainer']
