"""The byte-level BPE tokenizer of the tiny shapes model, trained on the
shapes captions and questions (:mod:`.generator`)."""
from typing import List

import numpy as np

from .generator import CAPTION_PROMPT, VQA_SUFFIX, captions, questions
from .scene import sample_scene


def text_corpus(num_images: int = 2000, seed: int = 0) -> List[str]:
    """Captions and questions of random scenes, for training a tokenizer.

    Args:
        num_images (int): Scenes to draw.
        seed (int): Random seed.

    Returns:
        list[str]: Sentences.
    """
    rng = np.random.default_rng(seed)
    texts = []
    for _ in range(num_images):
        shapes, _ = sample_scene(rng)
        texts += captions(shapes)
        texts += [f'{q} {a}' for q, a, _ in questions(shapes, rng)]
    return texts


def train_shapes_tokenizer(out_dir: str, vocab_size: int = 512,
                           seed: int = 0) -> str:
    """Train the byte-level BPE tokenizer of the shapes model.

    The corpus is the shapes captions and questions plus the LLaVA-1.5
    prompt text (system prompt, roles, caption prompt, VQA instruction),
    repeated so that every prompt word becomes one token.

    Args:
        out_dir (str): Where to save it (loadable by ``AutoTokenizer``).
        vocab_size (int): Vocabulary size, special tokens included.
        seed (int): Seed of the scenes drawn for the corpus.

    Returns:
        str: ``out_dir``.
    """
    from llava_mm.constants import V15_SYSTEM
    from llava_mm.utils.tokenizer import train_tokenizer
    prompts = [V15_SYSTEM, 'USER: ASSISTANT:',
               CAPTION_PROMPT,
               VQA_SUFFIX.strip()]
    return train_tokenizer(out_dir, text_corpus(2000, seed) + prompts * 200,
                           vocab_size=vocab_size)
