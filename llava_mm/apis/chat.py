"""Multi-turn chat about an image: :class:`LlavaChat`.

Every answer goes through the model's own ``generate`` (its prompt pass and
preallocated cache), with the whole conversation so far as the prompt, as
the official ``llava/serve/cli.py`` does. The prompt is built by the same
code as a multi-turn training sample (:mod:`llava_mm.conversation`).
"""
import os
import threading
from typing import Iterator, List, Optional, Tuple, Union

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.logging import print_log
from mmpretrain.structures import DataSample
from transformers import (
    StoppingCriteria,
    StoppingCriteriaList,
    TextIteratorStreamer,
)

from llava_mm.conversation import Conversation

from .base_inferencer import build_test_pipeline
from .inference import prepare_model

# The original LLaVA CLI's defaults (llava/serve/cli.py); it sets no top_p,
# so nucleus sampling is off (1.0).
DEFAULT_TEMPERATURE = 0.2
DEFAULT_TOP_P = 1.0
DEFAULT_MAX_NEW_TOKENS = 512


class LlavaChat:
    """Talk to a LLaVA model about one image, turn by turn.

    The image goes in the first turn only. Passing a new image starts a new
    conversation about it (as the official web demo does).

    When the conversation no longer fits the model's context, the oldest
    turns are dropped (the image moves to the first turn that is kept) until
    the answer has room for ``min(max_new_tokens, context // 4)`` tokens;
    a question that does not fit even alone raises ``ValueError``.
    ``dropped_turns`` counts the turns dropped since the last reset.

    Example:
        >>> chat = LlavaChat('llava-tiny-shapes_vqa')
        >>> chat.ask('What colour is the circle?', image='demo/shapes.png')
        >>> for piece in chat.stream('Is it on the left or the right?'):
        ...     print(piece, end='', flush=True)
        >>> chat.reset()

    Args:
        model (str | Config | Llava): A model name from
            :func:`list_models`, a config, or a built model (shared with
            other chats, e.g. one per web session).
        temperature (float): Sampling temperature; 0 decodes greedily.
            Defaults to 0.2 (the LLaVA CLI's).
        top_p (float): Nucleus sampling mass. Defaults to 1.0 (off; the
            LLaVA CLI sets none).
        max_new_tokens (int): Longest answer. Defaults to 512 (the LLaVA
            CLI's); it is lowered to the room the context leaves.
        conversation (Conversation, optional): The state to continue;
            defaults to a new one.
        pretrained (bool | str): As in :func:`get_model`.
        **kwargs: The loading options of
            :class:`~llava_mm.apis.load_options.LoadOptions` (``device``,
            ``dtype``, ``quantization``, ``device_map``, ``engine``, ...)
            and config overrides, as the inferencers take them.
    """

    def __init__(self,
                 model: Union[str, Config, torch.nn.Module],
                 temperature: float = DEFAULT_TEMPERATURE,
                 top_p: float = DEFAULT_TOP_P,
                 max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
                 conversation: Optional[Conversation] = None,
                 pretrained: Union[bool, str] = True,
                 **kwargs) -> None:
        self.model = prepare_model(model, pretrained, **kwargs)
        self.temperature = temperature
        self.top_p = top_p
        self.max_new_tokens = max_new_tokens
        self.conversation = conversation or Conversation()
        self.dropped_turns = 0
        self._pipeline = build_test_pipeline(self.model.cfg)
        # The image, its model input and the size its pipeline recorded
        # (LLaVA-NeXT lays out an image's features by it).
        self._prepared: tuple = (None, None, None)

    # ------------------------------------------------------------ the state
    @property
    def history(self) -> List[Tuple[str, str]]:
        """The answered turns, ``[(question, answer), ...]``."""
        return self.conversation.history

    @property
    def context_length(self) -> int:
        """Positions the model can attend to (prompt, image and answer)."""
        return self.model.lang_encoder.config.max_position_embeddings

    def reset(self, image=None) -> None:
        """Forget the conversation; the image stays unless one is given.

        Args:
            image (optional): A new image (path, PIL image or array).
        """
        if image is not None:
            self._prepared = (image, *self._preprocess(image))
        self.conversation.reset(image)
        self.dropped_turns = 0

    # -------------------------------------------------------------- asking
    def ask(self, question: str, image=None, **generation) -> str:
        """Ask a question and return the whole answer.

        Args:
            question (str): The user's text.
            image (optional): A path, PIL image or array; starts a new
                conversation about it. Needed for the first question.
            **generation: ``temperature``, ``top_p``, ``max_new_tokens`` or
                other arguments of transformers' ``generate`` for this turn.

        Returns:
            str: The answer.
        """
        for _ in self.stream(question, image, **generation):
            pass
        return self.history[-1][1]

    def stream(self, question: str, image=None,
               **generation) -> Iterator[str]:
        """Ask a question; the answer's text arrives piece by piece.

        The question and image are checked and the context is made to fit
        before this returns; generation runs in a thread and a
        :class:`~transformers.TextIteratorStreamer` hands over its text.
        The turn is recorded when the iterator is exhausted (or closed: then
        with the text seen so far).

        Args:
            question (str): The user's text.
            image (optional): As for :meth:`ask`.
            **generation: As for :meth:`ask`.

        Returns:
            Iterator[str]: Pieces of the answer.
        """
        if image is not None:
            self.reset(image)
        elif self.conversation.image is None:
            raise ValueError('No image yet: pass image=PATH_OR_PIL with the '
                             'first question (LLaVA talks about an image).')
        images = self._images()
        self.conversation.add_question(question)
        try:
            cfg = self._generation_cfg(generation)
            cfg['max_new_tokens'] = self._fit_context(cfg['max_new_tokens'])
        except Exception:
            self.conversation.drop_open_turn()
            raise
        return self._run(images, self._sample(), cfg)

    def regenerate(self, **generation) -> Iterator[str]:
        """Answer the last question again, as :meth:`stream` does; the new
        answer replaces the old one (which stays if this raises before
        streaming).

        Args:
            **generation: As for :meth:`ask`.

        Returns:
            Iterator[str]: Pieces of the new answer.
        """
        if not self.conversation.turns or self.conversation.turns[-1][1] \
                is None:
            raise ValueError('Nothing to regenerate: ask a question first.')
        last = self.conversation.turns.pop()
        try:
            return self.stream(last[0], **generation)
        except Exception:
            self.conversation.turns.append(last)
            raise

    # ------------------------------------------------------------- helpers
    def _preprocess(self, image) -> Tuple[torch.Tensor, Optional[tuple]]:
        """The model's test pipeline and data preprocessor on one image;
        the image input and the ``image_size`` the pipeline recorded."""
        if isinstance(image, os.PathLike):
            image = os.fspath(image)
        data = dict(img_path=image) if isinstance(image, str) else dict(
            img=image)
        packed = self._pipeline(data)
        batch = self.model.data_preprocessor(pseudo_collate([packed]), False)
        return batch['images'], packed['data_samples'].get('image_size')

    def _images(self) -> torch.Tensor:
        image = self.conversation.image
        if self._prepared[0] is not image:
            self._prepared = (image, *self._preprocess(image))
        return self._prepared[1]

    def _sample(self, turns: Optional[list] = None) -> DataSample:
        """The conversation (or ``turns`` of it) as the model reads it."""
        turns = self.conversation.turns if turns is None else turns
        sample = DataSample()
        sample.set_field([list(t) for t in turns], 'conversation',
                         field_type='metainfo')
        if self._prepared[2] is not None:
            sample.set_field(self._prepared[2], 'image_size',
                             field_type='metainfo')
        return sample

    def _generation_cfg(self, overrides: dict) -> dict:
        cfg = dict(overrides)
        temperature = cfg.pop('temperature', self.temperature)
        top_p = cfg.pop('top_p', self.top_p)
        cfg.setdefault('max_new_tokens', self.max_new_tokens)
        if int(cfg['max_new_tokens']) < 1:
            raise ValueError(f'max_new_tokens must be at least 1, got '
                             f'{cfg["max_new_tokens"]}.')
        if temperature is None or temperature < 0 or not 0 < top_p <= 1:
            raise ValueError(f'temperature must be >= 0 and top_p in (0, 1], '
                             f'got {temperature} and {top_p}.')
        # As the LLaVA CLI: temperature 0 means greedy decoding.
        cfg['do_sample'] = temperature > 0
        if temperature > 0:
            cfg.update(temperature=float(temperature), top_p=float(top_p))
        return cfg

    def _prompt_positions(self, turns: Optional[list] = None) -> int:
        """Positions of the prompt: its ids, the image for one."""
        ids = self.model.batch_ids([self._sample(turns)])[0][0]
        return len(ids) - 1 + self.model.num_image_tokens(self._prepared[2])

    def _fit_context(self, max_new_tokens: int) -> int:
        """Drop the oldest turns until the answer has room; its length."""
        context = self.context_length
        needed = min(max_new_tokens, context // 4)
        alone = self._prompt_positions(self.conversation.turns[-1:])
        if context - alone < needed:
            raise ValueError(
                f'The question takes {alone} of the model\'s {context} '
                f'positions with the image, leaving {context - alone} for '
                f'the answer; at least {needed} are needed. Ask a shorter '
                'question or lower max_new_tokens.')
        used = self._prompt_positions()
        while context - used < needed:
            self.conversation.drop_oldest()
            self.dropped_turns += 1
            print_log(f'The conversation outgrew the model\'s context of '
                      f'{context} positions: dropped its oldest turn.',
                      logger='current')
            used = self._prompt_positions()
        return min(max_new_tokens, context - used)

    def _run(self, images: torch.Tensor, sample: DataSample,
             cfg: dict) -> Iterator[str]:
        tokenizer = self.model.tokenizer
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True,
                                        skip_special_tokens=True)
        closed = threading.Event()  # the reader stopped early
        cfg['stopping_criteria'] = StoppingCriteriaList(
            list(cfg.get('stopping_criteria') or []) + [StopWhenSet(closed)])
        result, error = [], []

        def generate() -> None:
            try:
                result.append(self.model.generate(
                    images, [sample], streamer=streamer, **cfg))
            except BaseException as e:  # handed to the caller below
                error.append(e)
                streamer.end()

        thread = threading.Thread(target=generate, daemon=True)
        thread.start()
        pieces, complete = [], False
        try:
            for piece in streamer:
                if not pieces:  # the space the tokenizer puts before a word
                    piece = piece.lstrip()
                if piece:
                    pieces.append(piece)
                    yield piece
            complete = True
        finally:
            closed.set()  # stops generation at its next token if running
            thread.join()
            if error or not (complete or pieces):
                self.conversation.drop_open_turn()
            else:  # the whole answer, or what a reader that stopped saw
                text = tokenizer.decode(
                    result[0][0], skip_special_tokens=True) if complete \
                    else ''.join(pieces)
                self.conversation.add_answer(text.strip())
        if error:
            raise error[0]


class StopWhenSet(StoppingCriteria):
    """Stop generating once ``event`` is set (the stream was closed)."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor,
                 **kwargs) -> torch.Tensor:
        return torch.full((input_ids.shape[0], ), self.event.is_set(),
                          dtype=torch.bool, device=input_ids.device)
