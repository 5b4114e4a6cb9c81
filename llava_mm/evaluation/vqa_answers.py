"""Answer processing of the VQA evaluation: the official accuracy's rules
and the EvalAI answer processor that LLaVA runs before a submission.

Official accuracy (GT-Vision-Lab/VQA ``vqaEval.py``, latest commit "Fixed
processing answers bug"), per question:

1. the prediction and the annotators' answers: newlines and tabs become
   spaces, then outer whitespace is stripped;
2. when the (stripped) annotator answers are **not all the same**, each of
   them and the prediction go through :func:`process_punctuation` and
   :func:`process_digit_article`; when all agree, the stripped prediction
   is compared to them as is (case and all);
3. score = mean over the annotators of ``min(#other annotators matching
   / 3, 1)`` (leave one annotator out).

The official code is Python 2 with ASCII-only ``\\d`` (its patterns have
no UNICODE flag), and it passes ``re.UNICODE`` (32) where ``re.sub``
expects ``count``, so at most 32 periods are removed from one answer. Both
quirks are kept here so every input scores as there.

LLaVA's ``scripts/convert_vqav2_for_submission.py`` writes every answer
through ``EvalAIAnswerProcessor`` (:func:`evalai_answer`): lower-case,
commas and question marks dropped, ``'s`` split off, then the same two
steps. The word tables are the official ones. That processor
(``llava/eval/m4c_evaluator.py``, also TextVQA's scorer) runs on Python 3,
where ``\\d`` matches every Unicode digit: :func:`evalai_answer` does too.
"""
import re
from typing import Sequence

# Contractions written without the apostrophe, and the official form.
CONTRACTIONS = {
    'aint': "ain't", 'arent': "aren't", 'cant': "can't", 'couldve': "could've",
    'couldnt': "couldn't", "couldn'tve": "couldn't've",
    "couldnt've": "couldn't've", 'didnt': "didn't", 'doesnt': "doesn't",
    'dont': "don't", 'hadnt': "hadn't", "hadnt've": "hadn't've",
    "hadn'tve": "hadn't've", 'hasnt': "hasn't", 'havent': "haven't",
    'hed': "he'd", "hed've": "he'd've", "he'dve": "he'd've", 'hes': "he's",
    'howd': "how'd", 'howll': "how'll", 'hows': "how's", "Id've": "I'd've",
    "I'dve": "I'd've", 'Im': "I'm", 'Ive': "I've", 'isnt': "isn't",
    'itd': "it'd", "itd've": "it'd've", "it'dve": "it'd've", 'itll': "it'll",
    "let's": "let's", 'maam': "ma'am", 'mightnt': "mightn't",
    "mightnt've": "mightn't've", "mightn'tve": "mightn't've",
    'mightve': "might've", 'mustnt': "mustn't", 'mustve': "must've",
    'neednt': "needn't", 'notve': "not've", 'oclock': "o'clock",
    'oughtnt': "oughtn't", "ow's'at": "'ow's'at", "'ows'at": "'ow's'at",
    "'ow'sat": "'ow's'at", 'shant': "shan't", "shed've": "she'd've",
    "she'dve": "she'd've", "she's": "she's", 'shouldve': "should've",
    'shouldnt': "shouldn't", "shouldnt've": "shouldn't've",
    "shouldn'tve": "shouldn't've", "somebody'd": 'somebodyd',
    "somebodyd've": "somebody'd've", "somebody'dve": "somebody'd've",
    'somebodyll': "somebody'll", 'somebodys': "somebody's",
    'someoned': "someone'd", "someoned've": "someone'd've",
    "someone'dve": "someone'd've", 'someonell': "someone'll",
    'someones': "someone's", 'somethingd': "something'd",
    "somethingd've": "something'd've", "something'dve": "something'd've",
    'somethingll': "something'll", 'thats': "that's", 'thered': "there'd",
    "thered've": "there'd've", "there'dve": "there'd've",
    'therere': "there're", 'theres': "there's", 'theyd': "they'd",
    "theyd've": "they'd've", "they'dve": "they'd've", 'theyll': "they'll",
    'theyre': "they're", 'theyve': "they've", 'twas': "'twas",
    'wasnt': "wasn't", "wed've": "we'd've", "we'dve": "we'd've",
    'weve': "we've", 'werent': "weren't", 'whatll': "what'll",
    'whatre': "what're", 'whats': "what's", 'whatve': "what've",
    'whens': "when's", 'whered': "where'd", 'wheres': "where's",
    'whereve': "where've", 'whod': "who'd", "whod've": "who'd've",
    "who'dve": "who'd've", 'wholl': "who'll", 'whos': "who's",
    'whove': "who've", 'whyll': "why'll", 'whyre': "why're", 'whys': "why's",
    'wont': "won't", 'wouldve': "would've", 'wouldnt': "wouldn't",
    "wouldnt've": "wouldn't've", "wouldn'tve": "wouldn't've", 'yall': "y'all",
    "yall'll": "y'all'll", "y'allll": "y'all'll", "yall'd've": "y'all'd've",
    "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've", 'youd': "you'd",
    "youd've": "you'd've", "you'dve": "you'd've", 'youll': "you'll",
    'youre': "you're", 'youve': "you've",
}

NUMBER_WORDS = {
    'none': '0', 'zero': '0', 'one': '1', 'two': '2', 'three': '3',
    'four': '4', 'five': '5', 'six': '6', 'seven': '7', 'eight': '8',
    'nine': '9', 'ten': '10'
}
ARTICLES = frozenset(('a', 'an', 'the'))
PUNCTUATION = (';', '/', '[', ']', '"', '{', '}', '(', ')', '=', '+', '\\',
               '_', '-', '>', '<', '@', '`', ',', '?', '!')
# A period not followed by a digit (the official "(?!<=" is a lookahead for
# the literal text "<=", kept as is).
_PERIOD = {True: re.compile(r'(?!<=\d)(\.)(?!\d)', re.ASCII),
           False: re.compile(r'(?!<=\d)(\.)(?!\d)')}
_DIGIT_COMMA_DIGIT = {True: re.compile(r'(\d)(,)(\d)', re.ASCII),
                      False: re.compile(r'(\d)(,)(\d)')}
_MAX_PERIODS = 32  # re.UNICODE passed as the count


def clean_whitespace(text: str) -> str:
    """Newlines and tabs to spaces, outer whitespace stripped.

    Args:
        text (str): An answer.

    Returns:
        str: The cleaned answer.
    """
    return text.replace('\n', ' ').replace('\t', ' ').strip()


def process_punctuation(text: str, ascii_digits: bool = True) -> str:
    """The official punctuation step.

    Each punctuation mark is deleted when the answer has it next to a space
    or has a digit-comma-digit anywhere, and replaced by a space otherwise
    (apostrophes and colons are kept); then periods not followed by a digit
    are deleted (at most 32).

    Args:
        text (str): An answer.
        ascii_digits (bool): Only ASCII digits count as digits (the
            official Python 2 code); False for the Python 3 processors.

    Returns:
        str: The answer after the punctuation step.
    """
    drop = _DIGIT_COMMA_DIGIT[ascii_digits].search(text) is not None
    out = text
    for mark in PUNCTUATION:
        glued = drop or f'{mark} ' in text or f' {mark}' in text
        out = out.replace(mark, '' if glued else ' ')
    return _PERIOD[ascii_digits].sub('', out, count=_MAX_PERIODS)


def process_digit_article(text: str) -> str:
    """The official digit/article step.

    Lower-cased words; number words up to ten (and ``none``) become digits,
    articles are dropped, then contractions missing their apostrophe get
    it (``dont`` -> ``don't``).

    Args:
        text (str): An answer after :func:`process_punctuation`.

    Returns:
        str: The words joined by single spaces.
    """
    words = [NUMBER_WORDS.get(w, w) for w in text.lower().split()]
    words = [w for w in words if w not in ARTICLES]
    return ' '.join(CONTRACTIONS.get(w, w) for w in words)


def normalize_answer(answer: str, ascii_digits: bool = True) -> str:
    """An answer through all official steps (whitespace, punctuation,
    digits/articles/contractions).

    Args:
        answer (str): E.g. ``'Two dogs.'``.
        ascii_digits (bool): See :func:`process_punctuation`.

    Returns:
        str: E.g. ``'2 dogs'``.
    """
    return process_digit_article(process_punctuation(
        clean_whitespace(answer), ascii_digits))


def evalai_answer(answer: str) -> str:
    """An answer as LLaVA writes it into a VQAv2 submission file.

    ``EvalAIAnswerProcessor``: lower-case, commas and question marks
    removed, ``'s`` split off as a word, then the official steps.

    Args:
        answer (str): The model's text, e.g. ``'Yes, two.'``.

    Returns:
        str: The submitted answer, e.g. ``'yes 2'``.
    """
    text = answer.lower().replace(',', '').replace('?', '')
    text = text.replace("'s", " 's").strip()
    return normalize_answer(text, ascii_digits=False)


def vqa_accuracy(prediction: str, answers: Sequence[str]) -> float:
    """The official VQA accuracy of one answer to one question.

    Args:
        prediction (str): The answer as submitted (see
            :func:`evalai_answer`); processed here only when the annotators
            disagree, as the official code does.
        answers (Sequence[str]): The annotators' answers (10 in VQAv2),
            each counted as a distinct annotator.

    Returns:
        float: Mean over the leave-one-annotator-out subsets of
        ``min(#matches / 3, 1)``, in [0, 1].
    """
    if len(answers) < 2:
        raise ValueError(
            'The VQA accuracy averages over leave-one-annotator-out subsets '
            f'and needs at least 2 annotator answers, got {len(answers)}.')
    pred = clean_whitespace(prediction)
    gts = [clean_whitespace(a) for a in answers]
    if len(set(gts)) > 1:
        gts = [process_digit_article(process_punctuation(a)) for a in gts]
        pred = process_digit_article(process_punctuation(pred))
    return leave_one_out_accuracy(pred, gts)


def leave_one_out_accuracy(prediction: str, answers: Sequence[str]) -> float:
    """The soft VQA score of an answer, both sides already processed.

    Args:
        prediction (str): The processed answer.
        answers (Sequence[str]): The processed annotator answers.

    Returns:
        float: Mean over the annotators of ``min(#other annotators giving
        the prediction / 3, 1)``, in [0, 1].
    """
    matches = [gt == prediction for gt in answers]
    total = sum(matches)
    return sum(min(1.0, (total - m) / 3) for m in matches) / len(matches)
