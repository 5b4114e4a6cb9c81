"""MMBench (a TSV file with the images inside), as LLaVA-1.5 evaluates it
(``llava/eval/model_vqa_mmbench.py``)."""
import base64
import binascii
from typing import List

from llava_mm.constants import MC_INSTRUCTION
from llava_mm.conversation import check_question
from llava_mm.registry import DATASETS
from llava_mm.utils.data_files import mmbench_is_none, read_tsv

from .llava_eval_questions import LLaVAEvalQuestions

OPTION_LETTERS = ('A', 'B', 'C', 'D')
INSTRUCTIONS = dict(en=MC_INSTRUCTION, cn='请直接回答选项字母。')
# Circular copies of a question have the index + k * 1e6 (MMBench's TSVs).
CIRCULAR_BASE = 1_000_000


@DATASETS.register_module()
class MMBench(LLaVAEvalQuestions):
    """MMBench from its TSV (``mmbench_dev_20230712.tsv``, test, CN).

    The prompt is built as ``model_vqa_mmbench.py --single-pred-prompt``:
    the hint (if any) and the question on separate lines, then one line
    ``"<letter>. <option>"`` per option up to the first empty one, then the
    instruction. The image is the row's base64 cell. With ``all_rounds``
    each question is asked once per option, the options rotated by one each
    round (the script's ``--all-rounds``; LLaVA-1.5's runs do not use it:
    MMBench's TSVs already hold circular copies).

    Each sample has ``question_id`` (the row's ``index``), ``round_id``,
    ``circular_id`` (``index % 1e6``: a question and its copies), ``options``
    (as shown), ``option_letters`` (the original letter of each shown
    option), ``img`` (the image bytes) and, where the TSV has answers,
    ``gt_answer`` (the letter of the right option as shown) and
    ``category``.

    Args:
        question_file (str): The TSV file.
        lang (str): ``'en'`` or ``'cn'`` (the instruction's language).
        all_rounds (bool): Ask each question once per option rotation.
        **kwargs: Arguments of :class:`LLaVAEvalQuestions` (no
            ``data_prefix``: the images are in the TSV).
    """

    benchmark = 'MMBench'

    def __init__(self, lang: str = 'en', all_rounds: bool = False,
                 **kwargs) -> None:
        if lang not in INSTRUCTIONS:
            raise ValueError(f'lang must be one of {sorted(INSTRUCTIONS)}, '
                             f'got {lang!r}.')
        self.lang = lang
        self.all_rounds = all_rounds
        super().__init__(**kwargs)

    def _image(self, row: dict, number: int) -> bytes:
        try:
            return base64.b64decode(row['image'], validate=True)
        except (binascii.Error, ValueError) as e:
            raise ValueError(
                f'{self.question_file}, row {number} (index {row["index"]}):'
                f' the image cell is not base64 ({e}).') from e

    def load_data_list(self) -> List[dict]:
        """Read the TSV: one sample per row (and round).

        Returns:
            list[dict]: The samples, in file order.
        """
        data_list = []
        for number, row in enumerate(read_tsv(self.question_file), 1):
            try:
                index = int(row['index'])
            except ValueError as e:
                raise ValueError(f'{self.question_file}, row {number}: index '
                                 f'{row["index"]!r} is not an integer.') from e
            options = []
            for letter in OPTION_LETTERS:
                if mmbench_is_none(row.get(letter)):
                    break
                options.append(row[letter])
            question = row['question']
            if not mmbench_is_none(row.get('hint')):
                question = row['hint'] + '\n' + question
            image = self._image(row, number)
            answer = row.get('answer')
            has_answer = not mmbench_is_none(answer)
            if has_answer and answer not in OPTION_LETTERS[:len(options)]:
                raise ValueError(
                    f'{self.question_file}, row {number} (index {index}): '
                    f'answer {answer!r} is not one of its options.')
            letters = list(OPTION_LETTERS[:len(options)])
            rounds = len(options) if self.all_rounds else 1
            for round_id in range(rounds):
                shown = options[round_id:] + options[:round_id]
                shown_letters = letters[round_id:] + letters[:round_id]
                text = question + ''.join(
                    f'\n{c}. {o}' for c, o in zip(letters, shown))
                text = f'{text}\n{INSTRUCTIONS[self.lang]}'
                check_question(
                    text, where=f'{self.question_file}: row {number}')
                info = dict(question_id=index, round_id=round_id,
                            circular_id=index % CIRCULAR_BASE,
                            question=text, options=shown,
                            option_letters=shown_letters, img=image,
                            category=row.get('category'))
                if has_answer:
                    info['gt_answer'] = letters[shown_letters.index(answer)]
                data_list.append(info)
        return data_list

