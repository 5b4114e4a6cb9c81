from .tag_pretrainer import CaptionTagPretrainer

__all__ = ['CaptionTagPretrainer']
