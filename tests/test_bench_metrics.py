"""Parity of the benchmark metrics with ports of the official scoring code
(tests/bench_reference.py), question by question, on awkward answers."""
import itertools

import pytest

import bench_reference as ref
from bench_fixtures import dump_jsonl
from llava_mm.evaluation import POPEMetric, pope_yes_no

AWKWARD_YES_NO = [
    'Yes', 'No', 'No.', 'no, there is not', 'Yes, there is no dog',
    'NO', 'Not really', 'There is a dog.No', 'nope', "No\nthere isn't",
    'yes. No', '', ' no', 'Yes.', 'It is not.', 'no.', 'Yes, no,',
    'I cannot tell', 'Nope, no dog', 'yes\tno',
]


def _score(metric, results):
    metric.results = list(results)
    return metric.compute_metrics(metric.results)


def test_pope_parity(tmp_path):
    splits = ('adversarial', 'popular', 'random')
    questions, results, answers = [], [], []
    answer_iter = itertools.cycle(AWKWARD_YES_NO)
    qid = 0
    for k, split in enumerate(splits):
        labels = []
        for i in range(14 + k):
            qid += 1
            label = 'yes' if (i * 7 + k) % 3 else 'no'
            text = next(answer_iter)
            labels.append(dict(question_id=i + 1, image=f'{i}.jpg',
                               text='q', label=label))
            questions.append(dict(question_id=qid, image=f'{i}.jpg',
                                  text='q', category=split))
            answers.append(dict(question_id=qid, prompt='q', text=text))
            results.append(dict(category=split, gt_answer=label,
                                question='q', pred_answer=text))
        dump_jsonl(labels, str(tmp_path / 'coco' / f'coco_pope_{split}.json'))
    dump_jsonl(questions, str(tmp_path / 'questions.jsonl'))
    official = ref.pope_eval(str(tmp_path / 'coco'),
                             str(tmp_path / 'questions.jsonl'), answers)
    ours = _score(POPEMetric(), results)
    for split in splits:
        for key, value in official[split].items():
            assert ours[f'{split}/{key}'] == pytest.approx(100 * value,
                                                           abs=1e-9)
    assert ours['f1'] == pytest.approx(
        100 * sum(official[s]['f1'] for s in splits) / 3)
    # Question by question: the same yes/no reading.
    for text in AWKWARD_YES_NO:
        assert pope_yes_no(text) == ref.pope_parse(text), text
    assert pope_yes_no('NO') == 'yes'  # the official reading, kept
    assert pope_yes_no('There is a dog.No') == 'yes'

