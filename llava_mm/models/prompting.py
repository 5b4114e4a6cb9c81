"""The text side of LLaVA: prompt templates, tokenisation, training targets.

:class:`~llava_mm.models.Llava` mixes this in. The first chunk of a prompt
gets BOS; ``<image>`` becomes ``IMAGE_TOKEN_INDEX``; training targets are the
answer (or caption) ids plus EOS, and a multi-turn conversation continues
with ``turn_tmpl`` after each EOS, as the official LLaVA-1.5 template does.
"""
from collections import Counter
from typing import List, Optional

from mmpretrain.structures import DataSample

from llava_mm.constants import IGNORE_INDEX, IMAGE_TOKEN, IMAGE_TOKEN_INDEX
from llava_mm.conversation import check_question
from llava_mm.utils.text import check_text


class PromptMixin:
    """Prompt and target handling; needs ``tokenizer``, ``prompt_tmpl``,
    ``turn_tmpl``, ``caption_prompt`` and ``task`` on the model."""

    def format_prompt(self, question: Optional[str] = None,
                      allow_empty: bool = False) -> str:
        """Fill the template.

        Args:
            question (str, optional): The question, or for captioning a
                custom instruction. Captioning defaults to
                ``caption_prompt``. It must not hold ``<image>`` (the
                template places the image) and, unless ``allow_empty``,
                must not be empty.
            allow_empty (bool): Accept an empty question (training data
                whose first turn is the image alone).

        Returns:
            str: The prompt with ``<image>`` still in it.
        """
        if question is not None:
            check_question(question, allow_empty)
        if question is None:
            if self.task == 'vqa' and '{question}' in self.prompt_tmpl:
                raise ValueError('A VQA model needs a question.')
            question = self.caption_prompt
        elif '{question}' not in self.prompt_tmpl:
            raise ValueError(
                'This model\'s prompt_tmpl has no "{question}" placeholder, '
                'so a custom prompt cannot be used; add one to prompt_tmpl.')
        return self.prompt_tmpl.replace('{question}', question)

    def tokenize_prompt(self, prompt: str) -> List[int]:
        """Token ids of a prompt, ``IMAGE_TOKEN_INDEX`` where the image goes.

        Args:
            prompt (str): Text with one ``<image>``.

        Returns:
            list[int]: BOS, the ids before the image, -200, the ids after.
        """
        before, after = prompt.split(IMAGE_TOKEN)
        tok = self.tokenizer
        ids = tok(before, add_special_tokens=False).input_ids
        if tok.bos_token_id is not None:
            ids = [tok.bos_token_id] + ids
        return ids + [IMAGE_TOKEN_INDEX] + tok(
            after, add_special_tokens=False).input_ids

    def target_ids(self, text: str) -> List[int]:
        """Ids of an answer the model is trained to produce, EOS last."""
        check_text(text, 'answer')
        ids = self.tokenizer(text, add_special_tokens=False).input_ids
        return ids + [self.tokenizer.eos_token_id]

    def _sample_question(self, sample: Optional[DataSample]) -> Optional[str]:
        return None if sample is None else sample.get('question')

    def _sample_turns(self, sample: Optional[DataSample],
                      with_targets: bool = False) -> List[tuple]:
        """The (question, answer) turns of a sample.

        A ``conversation`` (``[[question, answer], ...]``, from
        :class:`~llava_mm.datasets.LLaVAInstruct` or
        :class:`~llava_mm.apis.LlavaChat`) gives all its turns; otherwise
        the one turn is the sample's ``question`` (None: the caption prompt)
        and, for training, its target (:meth:`_sample_target`). For
        generation the last answer is None (the one to generate).
        """
        conversation = None if sample is None else sample.get('conversation')
        if conversation is None:
            question = self._sample_question(sample)
            return [(question, self._sample_target(sample)
                     if with_targets else None)]
        if not conversation or any(len(t) != 2 for t in conversation):
            raise ValueError('A "conversation" must be a non-empty list of '
                             f'[question, answer] pairs, got {conversation}.')
        open_turns = [k for k, t in enumerate(conversation) if t[1] is None]
        expected = [] if with_targets else [len(conversation) - 1]
        if open_turns != expected:
            raise ValueError(
                'For training every turn of a "conversation" needs an '
                'answer; for generation only the last answer is None. Got '
                f'{conversation}.')
        return [tuple(t) for t in conversation]

    def conversation_ids(self, turns: List[tuple]) -> tuple:
        """Token ids after the first prompt, and their labels.

        The first answer follows ``prompt_tmpl``; every later question is
        ``turn_tmpl`` after the previous answer's EOS, with no label. A last
        answer of None (generation) ends the ids with its question.

        Args:
            turns (list[tuple]): ``(question, answer)`` pairs; the first
                question is the one of the prompt.

        Returns:
            tuple[list[int], list[int]]: Ids and labels (``-100`` on the
            user turns).
        """
        ids, labels = [], []
        for k, (question, answer) in enumerate(turns):
            if k:
                check_question(question, allow_empty=True)
                user = self.tokenizer(
                    self.turn_tmpl.replace('{question}', question),
                    add_special_tokens=False).input_ids
                ids += user
                labels += [IGNORE_INDEX] * len(user)
            if answer is not None:
                target = self.target_ids(answer)
                ids += target
                labels += target
        return ids, labels

    def batch_ids(self, data_samples: List[Optional[DataSample]],
                  with_targets: bool = False) -> tuple:
        """Token ids of a batch, the one path of training and generation.

        Args:
            data_samples (list[DataSample | None]): Questions, targets or
                conversations.
            with_targets (bool): Split off the answers as targets.

        Returns:
            tuple: Prompt ids per sample (with ``IMAGE_TOKEN_INDEX``) and,
            with targets, target ids and labels per sample (else None).
            For generation the prompt is the whole conversation so far.
        """
        turns = [self._sample_turns(s, with_targets) for s in data_samples]
        prompts = [self.tokenize_prompt(
            self.format_prompt(t[0][0], allow_empty=with_targets))
            for t in turns]
        after, labels = zip(*[self.conversation_ids(t) for t in turns])
        if with_targets:
            return prompts, list(after), list(labels)
        return [p + a for p, a in zip(prompts, after)], None, None

    @staticmethod
    def _sample_target(sample: DataSample) -> str:
        """The text a training sample teaches: its answer or its caption.

        A sample with ``gt_answer`` (VQA; a list is reduced to its most
        frequent / highest-weighted answer) is a VQA sample, else
        ``gt_caption`` (a list gives its first caption). So one model can be
        trained on a mix of both.
        """
        answer = sample.get('gt_answer')
        if answer is not None:
            if isinstance(answer, str):
                return answer
            weights = sample.get('gt_answer_weight')
            if weights is not None:
                return answer[max(range(len(answer)),
                                  key=lambda i: weights[i])]
            return Counter(answer).most_common(1)[0][0]
        caption = sample.get('gt_caption')
        if caption is None:
            raise KeyError('Training needs "gt_caption" or "gt_answer" in '
                           'every data sample.')
        return caption if isinstance(caption, str) else caption[0]
