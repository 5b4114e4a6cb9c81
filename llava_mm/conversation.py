"""LLaVA's conversation templates and the state of one conversation.

As the official ``llava/conversation.py`` (``SeparatorStyle.TWO``), a
conversation about one image reads (:data:`MISTRAL_INSTRUCT` has its own
``[INST]`` form, :class:`InstTemplate`)::

    {system} USER: <image>\\n{q1} ASSISTANT: {a1}</s>USER: {q2} ASSISTANT:

The image is in the first user turn only. A template here gives
:class:`~llava_mm.models.Llava` its two pieces, ``prompt_tmpl`` (the system
prompt and the first question, with the image) and ``turn_tmpl`` (a later
question); the model tokenises every piece on its own and puts EOS (the
``</s>`` above) after each answer. Training
(:class:`~llava_mm.datasets.LLaVAInstruct`) and chat
(:class:`~llava_mm.apis.LlavaChat`) both go through
:meth:`~llava_mm.models.prompting.PromptMixin.conversation_ids`, so the two
build the same ids.
"""
import dataclasses
from typing import Dict, List, Optional, Sequence, Tuple

from llava_mm.constants import (
    IM_END_TOKEN,
    IM_START_TOKEN,
    IMAGE_TOKEN,
    V1_SYSTEM,
    V15_SYSTEM,
    VQA_SHORT_ANSWER_SUFFIX,
)
from llava_mm.utils.text import check_text

QUESTION = '{question}'


@dataclasses.dataclass(frozen=True)
class ConversationTemplate:
    """A conversation format of the official LLaVA (``SeparatorStyle.TWO``).

    Args:
        name (str): The official name (``conv_templates`` key).
        system (str): The system prompt.
        image (str): What stands for the image in the first turn
            (``<im_start><image><im_end>`` for LLaVA v1).
        roles (tuple[str, str]): The user and assistant names.
        sep (str): After the system prompt and after each question.
        sep2 (str): After each answer (the tokenizer's EOS).
    """

    name: str
    system: str
    image: str = IMAGE_TOKEN
    roles: Tuple[str, str] = ('USER', 'ASSISTANT')
    sep: str = ' '
    sep2: str = '</s>'

    def prompt_tmpl(self, question_suffix: str = '') -> str:
        """The first turn: system prompt, image and question.

        Args:
            question_suffix (str): Text put after every question, e.g.
                LLaVA-1.5's short-answer instruction.

        Returns:
            str: A template with ``<image>`` and ``{question}``.
        """
        user, assistant = self.roles
        return (f'{self.system}{self.sep}{user}: {self.image}\n{QUESTION}'
                f'{question_suffix}{self.sep}{assistant}:')

    def turn_tmpl(self, question_suffix: str = '') -> str:
        """A later user turn, which follows the previous answer's EOS.

        Args:
            question_suffix (str): As for :meth:`prompt_tmpl`.

        Returns:
            str: A template with ``{question}``.
        """
        user, assistant = self.roles
        return f'{user}: {QUESTION}{question_suffix}{self.sep}{assistant}:'

    def render(self, turns: Sequence[Sequence[Optional[str]]],
               question_suffix: str = '') -> str:
        """The whole conversation as one string (the official
        ``get_prompt``), for display and debugging.

        Args:
            turns (Sequence): ``(question, answer)`` pairs; the last answer
                may be None (the turn the model is to answer).
            question_suffix (str): As for :meth:`prompt_tmpl`.

        Returns:
            str: The text, ``sep2`` after every answer.
        """
        text = ''
        for k, (question, answer) in enumerate(turns):
            tmpl = self.turn_tmpl(question_suffix) if k else self.prompt_tmpl(
                question_suffix)
            text += tmpl.replace(QUESTION, question)
            if answer is not None:
                text += self.answer_text(answer)
        return text

    def answer_text(self, answer: str) -> str:
        """An answer as it follows its question, ``sep2`` after it."""
        return f' {answer}{self.sep2}'


@dataclasses.dataclass(frozen=True)
class InstTemplate(ConversationTemplate):
    """Mistral-Instruct's format (the official ``SeparatorStyle.LLAMA_2``
    with no system prompt, LLaVA-1.6-Mistral's ``mistral_instruct``)::

        [INST] <image>\n{q1} [/INST] {a1} </s>[INST] {q2} [/INST]
    """

    system: str = ''
    roles: Tuple[str, str] = ('[INST]', '[/INST]')
    sep: str = ''

    def prompt_tmpl(self, question_suffix: str = '') -> str:
        user, assistant = self.roles
        return (f'{user} {self.image}\n{QUESTION}{question_suffix} '
                f'{assistant}')

    def turn_tmpl(self, question_suffix: str = '') -> str:
        user, assistant = self.roles
        return f'{user} {QUESTION}{question_suffix} {assistant}'

    def answer_text(self, answer: str) -> str:
        return f' {answer} {self.sep2}'


# LLaVA-1.5 (``conv_vicuna_v1``; LLaVA-1.5 trains with ``--version v1``,
# whose system prompt says "human").
VICUNA_V1 = ConversationTemplate(name='vicuna_v1', system=V15_SYSTEM)
# LLaVA v1 (``conv_llava_v1`` of the first release): its own system prompt,
# the image between <im_start> and <im_end>.
LLAVA_V1 = ConversationTemplate(
    name='llava_v1', system=V1_SYSTEM,
    image=f'{IM_START_TOKEN}{IMAGE_TOKEN}{IM_END_TOKEN}')
# LLaVA-1.6 Mistral-7B (``conv_mistral_instruct``).
MISTRAL_INSTRUCT = InstTemplate(name='mistral_instruct')
CONV_TEMPLATES: Dict[str, ConversationTemplate] = {
    t.name: t for t in (VICUNA_V1, LLAVA_V1, MISTRAL_INSTRUCT)}


# Text put after every question, by the name a config gives
# (``question_suffix``); ``'short_answer'`` is LLaVA-1.5's VQA format.
QUESTION_SUFFIXES: Dict[str, str] = {
    '': '', 'short_answer': VQA_SHORT_ANSWER_SUFFIX}


def prompt_templates(conv_template: Optional[str] = None,
                     question_suffix: str = '',
                     prompt_tmpl: Optional[str] = None,
                     turn_tmpl: Optional[str] = None) -> Tuple[str, str]:
    """The model's ``prompt_tmpl`` and ``turn_tmpl``.

    A config names a template of :data:`CONV_TEMPLATES` (and a suffix of
    :data:`QUESTION_SUFFIXES`) instead of writing its text; an explicit
    ``prompt_tmpl``/``turn_tmpl`` (a custom prompt, ``--prompt-tmpl``) wins.

    Args:
        conv_template (str, optional): ``'vicuna_v1'``, ``'llava_v1'`` or
            ``'mistral_instruct'``. None needs ``prompt_tmpl``; later turns
            then read as ``vicuna_v1``'s.
        question_suffix (str): A key of :data:`QUESTION_SUFFIXES`.
        prompt_tmpl (str, optional): The first turn's template, as is.
        turn_tmpl (str, optional): A later turn's template, as is.

    Returns:
        tuple[str, str]: ``(prompt_tmpl, turn_tmpl)``.
    """
    if conv_template is None and prompt_tmpl is None:
        raise ValueError('The model needs conv_template (one of '
                         f'{sorted(CONV_TEMPLATES)}) or a prompt_tmpl.')
    if conv_template is not None and conv_template not in CONV_TEMPLATES:
        raise ValueError(f'conv_template={conv_template!r} is unknown; use '
                         f'one of {sorted(CONV_TEMPLATES)}.')
    if question_suffix not in QUESTION_SUFFIXES:
        raise ValueError(f'question_suffix={question_suffix!r} is unknown; '
                         f'use one of {sorted(QUESTION_SUFFIXES)}.')
    template = CONV_TEMPLATES[conv_template or VICUNA_V1.name]
    suffix = QUESTION_SUFFIXES[question_suffix]
    return (template.prompt_tmpl(suffix) if prompt_tmpl is None
            else prompt_tmpl,
            template.turn_tmpl(suffix) if turn_tmpl is None else turn_tmpl)


def model_prompt_templates(model_cfg: dict) -> Tuple[str, str]:
    """:func:`prompt_templates` of a config's ``model``.

    Args:
        model_cfg (dict): ``cfg.model``.

    Returns:
        tuple[str, str]: ``(prompt_tmpl, turn_tmpl)``, as the model builds
        them.
    """
    return prompt_templates(model_cfg.get('conv_template'),
                            model_cfg.get('question_suffix', ''),
                            model_cfg.get('prompt_tmpl'),
                            model_cfg.get('turn_tmpl'))


def check_question(question: str, allow_empty: bool = False,
                   where: Optional[str] = None) -> None:
    """Refuse a question or prompt the template cannot take.

    The one check of question text: the model's prompts, a chat's turns
    and the questions of every dataset file go through it.

    Args:
        question (str): A question, or a custom caption instruction.
        allow_empty (bool): Accept an empty or blank text.
        where (str, optional): For a question read from a data file, its
            place (``'<file>: line 3'``); the message then names it and
            asks to fix or remove the entry.

    Raises:
        ValueError: It holds ``<image>`` (the template already places the
            image; a second one cannot be matched to image features), or
            it is empty and ``allow_empty`` is False (the model would
            answer nothing in particular, e.g. an empty caption), or it
            holds a lone surrogate (:func:`check_text`: the tokenizer
            cannot encode it).
    """
    if where is not None:
        if not isinstance(question, str) or IMAGE_TOKEN in question or (
                not allow_empty and not question.strip()):
            raise ValueError(
                f'{where} has the question {question!r}; a question must '
                f'be non-empty text without "{IMAGE_TOKEN}" (the prompt '
                'template places the image). Fix or remove it.')
        check_text(question, f'question of {where}')
        return
    if not isinstance(question, str):
        raise TypeError(f'A question must be a string, got {question!r}.')
    check_text(question)
    if IMAGE_TOKEN in question:
        raise ValueError(
            f'The question {question!r} contains "{IMAGE_TOKEN}"; the '
            'prompt template already places the image. Remove it from the '
            'question.')
    if not allow_empty and not question.strip():
        raise ValueError(
            f'Empty prompt {question!r}: pass a question or instruction, or '
            'None for a caption model\'s own caption prompt.')


class Conversation:
    """The state of one chat: its image and its turns so far.

    Plain data (no model), so a web demo can keep one per browser session
    while all sessions share one model.

    Args:
        image (optional): The image the conversation is about (a PIL image,
            an array or a path, as the model's test pipeline takes them).
    """

    def __init__(self, image=None) -> None:
        self.image = image
        self.turns: List[List[Optional[str]]] = []

    def add_question(self, question: str) -> None:
        """Open a turn; the model's answer closes it (:meth:`add_answer`).

        Args:
            question (str): The user's text, not empty.
        """
        if not isinstance(question, str) or not question.strip():
            raise ValueError(f'A question must be a non-empty string, got '
                             f'{question!r}.')
        check_question(question)  # no second <image>
        if self.turns and self.turns[-1][1] is None:
            raise RuntimeError('The last question has no answer yet; '
                               'answer it before asking another.')
        self.turns.append([question.strip(), None])

    def add_answer(self, answer: str) -> None:
        """Close the open turn with the model's answer."""
        if not self.turns or self.turns[-1][1] is not None:
            raise RuntimeError('There is no open question to answer.')
        self.turns[-1][1] = answer

    def drop_open_turn(self) -> None:
        """Remove an unanswered last turn (its generation failed)."""
        if self.turns and self.turns[-1][1] is None:
            self.turns.pop()

    def drop_oldest(self) -> None:
        """Forget the first turn; the image moves to the next one."""
        if len(self.turns) < 2:
            raise RuntimeError('Only the current turn is left to drop.')
        self.turns.pop(0)

    def reset(self, image=None) -> None:
        """Forget all turns; a new ``image`` replaces the old one."""
        self.turns = []
        if image is not None:
            self.image = image

    @property
    def history(self) -> List[Tuple[str, str]]:
        """The answered turns, ``[(question, answer), ...]``."""
        return [(q, a) for q, a in self.turns if a is not None]
