"""VQAv2 accuracy and COCO caption metrics on inputs with known scores."""
import json
import logging

import pytest
from mmengine.logging import MMLogger

from llava_mm.evaluation import (
    COCOCaption,
    ReportVQA,
    VQAAcc,
    evalai_answer,
    normalize_answer,
    vqa_accuracy,
)
from llava_mm.evaluation.caption_metric import spice_available
from llava_mm.evaluation.vqa_answers import process_punctuation
from llava_mm.registry import METRICS


def ten(answer: str, matches: int, other: str = 'nomatch') -> list:
    """10 annotator answers, ``matches`` of them ``answer``."""
    return [answer] * matches + [other] * (10 - matches)


@pytest.mark.parametrize('matches, expected', [
    (0, 0.0), (1, 0.3), (2, 0.6), (3, 0.9), (4, 1.0), (7, 1.0), (10, 1.0)])
def test_leave_one_annotator_out(matches, expected):
    assert vqa_accuracy('dog', ten('dog', matches)) == pytest.approx(
        expected)


def test_two_matches_worked_out():
    # Leaving out one of the 8 others keeps 2 matches (2/3), leaving out one
    # of the 2 matching annotators keeps 1 (1/3).
    assert vqa_accuracy('red', ten('red', 2)) == pytest.approx(
        (8 * 2 / 3 + 2 * 1 / 3) / 10)


@pytest.mark.parametrize('prediction, annotated', [
    ('Two', '2'), ('yes.', 'yes'), ('a dog', 'dog'), ('dont', "don't"),
    ('The Cat!', 'cat'), ('100,978', '100978'), ('ten', '10'),
    ('  on the\ttable\n', 'on table'), ('3.5', '3.5')])
def test_prediction_normalisation(prediction, annotated):
    assert vqa_accuracy(prediction, ten(annotated, 4)) == 1.0


def test_normalize_answer():
    assert normalize_answer('Two dogs.') == '2 dogs'
    assert normalize_answer('An apple') == 'apple'
    assert normalize_answer('isnt') == "isn't"
    assert normalize_answer('left/right') == 'left right'
    assert normalize_answer("girl's") == "girl's"  # apostrophe kept


def test_annotator_answers_as_official():
    """When the ten answers disagree, the official code runs each of them
    and the prediction through punctuation AND digit/article processing."""
    assert vqa_accuracy('yes', ['yes.'] * 4 + ['no'] * 6) == 1.0
    # "none" is the digit 0, on either side.
    assert vqa_accuracy('0', ten('none', 4, 'red')) == 1.0
    assert vqa_accuracy('none', ten('none', 4, 'red')) == 1.0
    assert vqa_accuracy('zero', ten('0', 4, 'red')) == 1.0
    # Articles are dropped from the annotators' answers too.
    assert vqa_accuracy('man', ten('a man', 3, 'woman')) == pytest.approx(
        0.9)
    assert vqa_accuracy('The man', ten('a man', 3, 'woman')) == \
        pytest.approx(0.9)
    # Contractions get their apostrophe on both sides.
    assert vqa_accuracy("don't", ten('dont', 4, 'yes')) == 1.0
    assert vqa_accuracy('dont', ten("don't", 4, 'yes')) == 1.0
    # Annotators are lower-cased.
    assert vqa_accuracy('red', ten('Red', 4, 'Blue')) == 1.0
    assert vqa_accuracy('blue', ten('Red', 4, 'Blue')) == 1.0
    assert vqa_accuracy('two', ten('Two', 2, 'three')) == pytest.approx(0.6)
    with pytest.raises(ValueError, match='at least 2'):
        vqa_accuracy('yes', ['yes'])


def test_all_ten_agree_compares_as_is():
    """When all ten (stripped) answers are the same, nothing is processed:
    the stripped prediction must equal them exactly."""
    assert vqa_accuracy('yes', ['yes.'] * 10) == 0.0
    assert vqa_accuracy('Yes', ['yes'] * 10) == 0.0
    assert vqa_accuracy(' yes\n', ['yes'] * 10) == 1.0
    assert vqa_accuracy('man', ['a man'] * 10) == 0.0
    assert vqa_accuracy('a man', ['a man'] * 10) == 1.0
    assert vqa_accuracy('red', ['Red'] * 10) == 0.0
    assert vqa_accuracy('0', ['none'] * 10) == 0.0
    # Differences in outer whitespace only: still "all agree".
    assert vqa_accuracy('Red', ['Red', ' Red'] * 5) == 1.0
    assert vqa_accuracy('red', ['Red', ' Red'] * 5) == 0.0


def test_punctuation_rules():
    # Next to a space, or with a digit-comma-digit anywhere: deleted.
    assert process_punctuation('yes !') == 'yes '
    assert process_punctuation('1,000 (approx)') == '1000 approx'
    # Otherwise replaced by a space; apostrophes and colons kept.
    assert process_punctuation('left/right') == 'left right'
    assert process_punctuation("12:30 o'clock") == "12:30 o'clock"
    # Periods go unless a digit follows; at most 32 per answer.
    assert process_punctuation('3.5 m.') == '3.5 m'
    assert process_punctuation('.' * 40) == '.' * 8


def test_evalai_answer_as_submitted():
    """The EvalAI answer processor of LLaVA's submission script."""
    assert evalai_answer('Yes') == 'yes'
    assert evalai_answer('Yes, two.') == 'yes 2'
    assert evalai_answer("The man's hat?") == "man 's hat"
    assert evalai_answer('  None\n') == '0'
    assert evalai_answer('dont') == "don't"


def test_vqa_acc_metric_per_type_and_once_per_question():
    metric = METRICS.build(dict(type='VQAAcc'))
    assert isinstance(metric, VQAAcc)
    samples = [
        dict(question_id=1, pred_answer='yes', raw_answers=ten('yes', 10),
             answer_type='yes/no'),
        dict(question_id=2, pred_answer='Two', raw_answers=ten('2', 2),
             answer_type='number'),
        dict(question_id=3, pred_answer='a cat', raw_answers=ten('dog', 9),
             answer_type='other'),
        # The same question again (sampler padding): counted once.
        dict(question_id=2, pred_answer='Two', raw_answers=ten('2', 2),
             answer_type='number'),
    ]
    metric.process(None, samples)
    metrics = metric.evaluate(len(samples))
    assert metrics['VQA/acc'] == pytest.approx(100 * (1 + 0.6 + 0) / 3)
    assert metrics['VQA/acc_yes/no'] == pytest.approx(100.0)
    assert metrics['VQA/acc_number'] == pytest.approx(60.0)
    assert metrics['VQA/acc_other'] == 0.0


def test_vqa_acc_needs_answers():
    with pytest.raises(KeyError, match='ReportVQA'):
        VQAAcc().process(None, [dict(question_id=1, pred_answer='yes')])


def test_report_vqa(tmp_path):
    questions = tmp_path / 'test2015_questions.json'
    questions.write_text(json.dumps({'questions': [
        {'question_id': q, 'image_id': 1, 'question': 'q?'}
        for q in (10, 11, 12)]}))
    metric = ReportVQA(test_question_file=str(questions))
    metric.set_work_dir(str(tmp_path))
    metric.process(None, [dict(question_id=11, pred_answer='yes'),
                          dict(question_id='10', pred_answer='2')])
    assert metric.evaluate(2) == {'VQA/num_answers': 2}
    written = json.loads((tmp_path / 'vqa_submission.json').read_text())
    assert written == [{'question_id': 11, 'answer': 'yes'},
                       {'question_id': 10, 'answer': '2'},
                       {'question_id': 12, 'answer': ''}]
    with pytest.raises(ValueError, match='.json'):
        ReportVQA(file_path=str(tmp_path / 'out.txt'))


def test_vqa_acc_scores_the_submitted_answer(tmp_path):
    """VQAAcc scores the answers ReportVQA writes, with the official
    accuracy; a raw "Yes" would score 0 against ten "yes"."""
    samples = [
        dict(question_id=1, pred_answer='Yes', raw_answers=ten('yes', 10)),
        dict(question_id=2, pred_answer='Two.', raw_answers=ten('2', 10)),
        dict(question_id=3, pred_answer="It's a dog",
             raw_answers=ten("it's dog", 3, 'cat')),
        dict(question_id=4, pred_answer='None', raw_answers=ten('0', 2)),
    ]
    acc, report = VQAAcc(), ReportVQA(file_path=str(tmp_path / 's.json'))
    for metric in (acc, report):
        metric.process(None, samples)
    score = acc.evaluate(4)['VQA/acc']
    report.evaluate(4)
    written = json.loads((tmp_path / 's.json').read_text())
    assert [w['answer'] for w in written] == ['yes', '2', "it 's dog", '0']
    official = [vqa_accuracy(w['answer'], s['raw_answers'])
                for w, s in zip(written, samples)]
    assert official == pytest.approx([1.0, 1.0, 0.0, 0.6])
    assert score == pytest.approx(100 * sum(official) / 4)
    assert vqa_accuracy('Yes', ten('yes', 10)) == 0.0


# ---------------------------------------------------------------- captions
REFS = {
    1: ['a man riding a red bike down the street',
        'a person on a bicycle in a city'],
    2: ['two cats sleeping on a blue sofa', 'cats lying on a couch'],
    3: ['a plate of pasta with tomato sauce', 'a dish of spaghetti'],
}


@pytest.fixture
def gt_file(tmp_path):
    path = tmp_path / 'captions_gt.json'
    path.write_text(json.dumps(dict(
        images=[dict(id=i) for i in REFS],
        annotations=[dict(image_id=i, id=10 * i + k, caption=c)
                     for i, caps in REFS.items()
                     for k, c in enumerate(caps)])))
    return str(path)


class _Collect(logging.Handler):

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _caption_scores(gt_file, captions):
    metric = COCOCaption(ann_file=gt_file)
    metric.process(None, [dict(image_id=i, pred_caption=c)
                          for i, c in captions.items()])
    return metric.evaluate(len(captions))


def test_caption_metric_known_scores(gt_file):
    logger = MMLogger.get_current_instance()
    handler = _Collect()
    logger.addHandler(handler)
    try:
        perfect = _caption_scores(gt_file,
                                  {i: c[0] for i, c in REFS.items()})
    finally:
        logger.removeHandler(handler)
    for n in range(1, 5):  # pycocoevalcap's maximum, up to its smoothing
        assert perfect[f'Bleu_{n}'] == pytest.approx(1.0, abs=1e-6)
    assert perfect['ROUGE_L'] == pytest.approx(1.0)
    assert perfect['METEOR'] > 0.9
    assert perfect['CIDEr'] > 0
    if not spice_available():
        assert 'SPICE' not in perfect
        assert sum('SPICE skipped' in m for m in handler.messages) == 1

    wrong = _caption_scores(gt_file, {1: 'two cats on a sofa',
                                      2: 'a plate of pasta', 3: 'a bike'})
    assert wrong['Bleu_1'] < perfect['Bleu_1']
    assert wrong['CIDEr'] < perfect['CIDEr']


def test_caption_metric_errors(gt_file, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match='not in'):
        _caption_scores(gt_file, {99: 'a cat'})
    karpathy = tmp_path / 'karpathy.json'
    karpathy.write_text(json.dumps([dict(image='a.jpg', caption='x')]))
    with pytest.raises(ValueError, match='karpathy.json: expected COCO'):
        COCOCaption(ann_file=str(karpathy))
    with pytest.raises(FileNotFoundError, match='nowhere.json'):
        COCOCaption(ann_file=str(tmp_path / 'nowhere.json'))
    monkeypatch.setenv('PATH', str(tmp_path))  # no java here
    with pytest.raises(RuntimeError, match='need Java'):
        COCOCaption(ann_file=gt_file)
