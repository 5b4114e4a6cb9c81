"""Train a small byte-level BPE tokenizer (offline models and tests)."""
from typing import Iterable, Optional

from llava_mm.constants import (
    CAPTION_PROMPT,
    V15_SYSTEM,
    VQA_SHORT_ANSWER_SUFFIX,
)

DEFAULT_CORPUS = [
    V15_SYSTEM,
    'USER: ASSISTANT: ' + CAPTION_PROMPT,
    VQA_SHORT_ANSWER_SUFFIX.strip(),
    'What is in the image? How many objects are there? Is there a red '
    'circle? What colour is the square on the left? yes no one two three',
    'a photo of a cat and a dog sitting on a blanket next to a window.',
]


def train_tokenizer(out_dir: str,
                    texts: Optional[Iterable[str]] = None,
                    vocab_size: int = 300) -> str:
    """Train a byte-level BPE tokenizer and save it for ``AutoTokenizer``.

    Special tokens ``<unk>`` (0), ``<s>`` (1, BOS), ``</s>`` (2, EOS), like
    LLaMA's. No token is added automatically; a word alone gets a leading
    space marker, as LLaMA's tokenizer gives it.

    Args:
        out_dir (str): Where to save.
        texts (Iterable[str], optional): Training text; defaults to a small
            corpus of LLaVA prompts.
        vocab_size (int): Vocabulary size, special tokens included.

    Returns:
        str: ``out_dir``.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from tokenizers.trainers import BpeTrainer
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token='<unk>'))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    trainer = BpeTrainer(
        vocab_size=vocab_size, special_tokens=['<unk>', '<s>', '</s>'],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False)
    tok.train_from_iterator(list(texts or DEFAULT_CORPUS), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token='<unk>', bos_token='<s>',
        eos_token='</s>', clean_up_tokenization_spaces=False)
    fast.save_pretrained(out_dir)
    return out_dir
