"""Parity of the benchmark metrics with ports of the official scoring code
(tests/bench_reference.py), question by question, on awkward answers."""
import itertools
import json
import os.path as osp

import pytest

import bench_fixtures as fx
import bench_reference as ref
from bench_fixtures import dump_jsonl
from llava_mm.datasets import (
    GQA,
    MME,
    LLaVAEvalQuestions,
    MMBench,
    ScienceQA,
    SEEDBench,
    TextVQA,
)
from llava_mm.evaluation import (
    GQAAcc,
    MMBenchMetric,
    MMEMetric,
    POPEMetric,
    ReportVizWiz,
    ScienceQAMetric,
    SEEDAcc,
    TextVQAAcc,
    evalai_answer,
    infer_choice,
    mme_yes_no,
    pope_yes_no,
    sqa_letter,
)

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



AWKWARD_MME = ['Yes', 'No', 'yes', 'NO', 'Not sure', 'I think yes',
               'Yes, it is', 'nope', 'Unknown', 'snow', 'Y', '', 'No.',
               'The answer is no', 'yesno', ' no']


def _dataset_results(dataset, answers):
    """Metric inputs: each sample's fields with a model answer."""
    return [dict(dataset.get_data_info(i), pred_answer=a)
            for i, a in zip(range(len(dataset)), answers)]


def test_mme_parity(tmp_path):
    root = str(tmp_path)
    fx.make_mme(root)
    dataset = MME(data_root=root, question_file='llava_mme.jsonl',
                  data_prefix='MME_Benchmark_release_version')
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert [i['gt_answer'] for i in infos] == [
        a for *_, qas in fx.MME_IMAGES for _, a in qas]
    release = osp.join(root, 'MME_Benchmark_release_version')
    for shift in range(len(AWKWARD_MME)):
        answers = [AWKWARD_MME[(k + shift) % len(AWKWARD_MME)]
                   for k in range(len(infos))]
        official_answers = [dict(question_id=i['question_id'],
                                 prompt=i['question'], text=a)
                            for i, a in zip(infos, answers)]
        result_dir = str(tmp_path / f'results{shift}')
        ref.mme_convert(official_answers, release, result_dir)
        official = ref.mme_calculate(result_dir)
        metric = MMEMetric()
        ours = _score(metric, [
            {k: r[k] for k in (*metric.keys, 'pred_answer')}
            for r in _dataset_results(dataset, answers)])
        assert ours['perception'] == pytest.approx(official['Perception'])
        assert ours['cognition'] == pytest.approx(official['Cognition'])
        for task in ('artwork', 'count', 'code_reasoning'):
            assert ours[task] == pytest.approx(official[task])
    for text in AWKWARD_MME:
        # The tool reads the answer back from its results file with the
        # line's newline.
        assert mme_yes_no(text) == ref.mme_parse((text + '\n').lower())
    assert mme_yes_no('Not sure') == 'no'
    assert mme_yes_no('I think yes') == 'other'


AWKWARD_LETTERS = [
    'A', 'B', 'A. whale', 'B.', '(B)', 'The answer is B.', 'The answer is B',
    'The answer is A. The answer is B.', 'b', 'E', 'C', 'B. ', 'A.B',
    'I think B', ' B', 'D. white', 'The answer is D!', '',
]


def test_scienceqa_parity(tmp_path):
    root = str(tmp_path)
    fx.make_scienceqa(root)
    dataset = ScienceQA(data_root=root, question_file='llava_test_CQM-A.json',
                        ann_file='problems.json', data_prefix='images/test')
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    # The text-only problem is left out; the prompt is the official one.
    assert [i['question_id'] for i in infos] == ['4', '9', '20']
    assert infos[0]['question'] == (
        'Context: Look at the picture.\nWhich animal is a mammal?\nA. frog'
        '\nB. whale\nAnswer with the option\'s letter from the given '
        'choices directly.')
    metric = ScienceQAMetric()
    for shift in range(len(AWKWARD_LETTERS)):
        answers = [AWKWARD_LETTERS[(k + shift) % len(AWKWARD_LETTERS)]
                   for k in range(len(infos))]
        official = ref.sqa_eval(root, [
            dict(question_id=i['question_id'], text=a,
                 prompt='<image>\n' + i['question'])
            for i, a in zip(infos, answers)])
        ours = _score(metric, [
            {k: r[k] for k in (*metric.keys, 'pred_answer')}
            for r in _dataset_results(dataset, answers)])
        assert ours['img_acc'] == pytest.approx(official['img_acc'])
        for info, answer in zip(infos, answers):
            log = metric.sample_log(dict(info, pred_answer=answer))
            assert log['correct'] == (info['question_id'] in
                                      official['correct'])
    for text in AWKWARD_LETTERS:
        assert sqa_letter(text) == ref.sqa_parse(text), text


AWKWARD_SHORT = ['No', 'no.', 'Woman', 'woman...', 'Blue.', 'blue. ',
                 'The sky', 'YES', 'a woman', 'Blue, light', '', '.', 'no,']


def test_gqa_parity(tmp_path):
    root = str(tmp_path)
    fx.make_gqa(root)
    dataset = GQA(data_root=root,
                  question_file='llava_gqa_testdev_balanced.jsonl',
                  ann_file='data/testdev_balanced_questions.json',
                  data_prefix='data/images')
    metric = GQAAcc(file_path=str(tmp_path / 'pred.json'))
    n = len(dataset)
    for shift in range(len(AWKWARD_SHORT)):
        answers = [AWKWARD_SHORT[(k + shift) % len(AWKWARD_SHORT)]
                   for k in range(n)]
        results = _dataset_results(dataset, answers)
        official_preds = ref.gqa_convert([
            dict(question_id=r['question_id'], text=r['pred_answer'])
            for r in results])
        official = ref.gqa_eval(
            osp.join(root, 'data', 'testdev_balanced_questions.json'),
            official_preds)
        ours = _score(metric, [{k: r[k] for k in (*metric.keys,
                                                   'pred_answer')}
                               for r in results])
        for key in ('accuracy', 'binary', 'open'):
            assert ours[key] == pytest.approx(official[key]), key
        # The file written is convert_gqa_for_eval.py's.
        assert _load(metric.file_path) == official_preds


def _load(path):
    with open(path) as f:
        return json.load(f)


AWKWARD_TEXT = ['Dakota', 'dakota.', 'Dakota Digital', 'the dakota',
                'DAKOTA!', 'Copenhagen.', 'copenhagen, denmark', 'two', '2',
                'Two items', '2.', 'three', 'Unanswerable', "it's 2", '1,000',
                'a.\u0663', '\u0661,\u0662 b', 'none', '']


def test_textvqa_parity(tmp_path):
    root = str(tmp_path)
    fx.make_textvqa(root)
    dataset = TextVQA(data_root=root,
                      question_file='llava_textvqa_val_v051_ocr.jsonl',
                      ann_file='TextVQA_0.5.1_val.json',
                      data_prefix='train_images')
    # Two questions on one image (same question_id), OCR line first or not.
    assert [len(dataset.get_data_info(i)['gt_answer'])
            for i in range(len(dataset))] == [10, 10, 10]
    metric = TextVQAAcc()
    processor = ref.EvalAIProcessor()
    for shift in range(len(AWKWARD_TEXT)):
        answers = [AWKWARD_TEXT[(k + shift) % len(AWKWARD_TEXT)]
                   for k in range(len(dataset))]
        results = _dataset_results(dataset, answers)
        official = ref.textvqa_eval(
            osp.join(root, 'TextVQA_0.5.1_val.json'),
            [dict(question_id=r['question_id'], prompt=r['question'],
                  text=r['pred_answer']) for r in results])
        ours = _score(metric, [{k: r[k] for k in (*metric.keys,
                                                   'pred_answer')}
                               for r in results])
        assert ours['accuracy'] == pytest.approx(official['accuracy'])
        assert [metric.sample_log(r)['accuracy'] for r in results] == \
            pytest.approx(official['scores'])
    for text in AWKWARD_TEXT:
        assert evalai_answer(text) == processor(text), text
    # Python 3's \d: a period before an Arabic-Indic digit stays.
    assert evalai_answer('a.\u0663') == 'a.\u0663'


def test_seed_parity(tmp_path):
    root = str(tmp_path)
    fx.make_seed(root)
    dataset = SEEDBench(data_root=root,
                        question_file='llava-seed-bench.jsonl',
                        ann_file='SEED-Bench.json', data_prefix='')
    metric = SEEDAcc(file_path=str(tmp_path / 'upload.jsonl'))
    for shift in range(len(AWKWARD_LETTERS)):
        answers = [AWKWARD_LETTERS[(k + shift) % len(AWKWARD_LETTERS)]
                   for k in range(len(dataset))]
        results = _dataset_results(dataset, answers)
        official, upload = ref.seed_eval(
            osp.join(root, 'SEED-Bench.json'),
            [dict(question_id=r['question_id'], text=r['pred_answer'])
             for r in results])
        ours = _score(metric, [{k: r[k] for k in (*metric.keys,
                                                   'pred_answer')}
                               for r in results])
        assert ours.pop('accuracy') == pytest.approx(official.pop('total'))
        assert ours == pytest.approx(official)
        with open(metric.file_path) as f:
            assert [json.loads(line) for line in f] == upload


def test_vizwiz_submission_parity(tmp_path):
    root = str(tmp_path)
    fx.make_vizwiz(root)
    dataset = LLaVAEvalQuestions(data_root=root,
                                 question_file='llava_test.jsonl',
                                 data_prefix='test')
    metric = ReportVizWiz(file_path=str(tmp_path / 'upload.json'))
    for shift in range(len(AWKWARD_TEXT)):
        answers = [AWKWARD_TEXT[(k + shift) % len(AWKWARD_TEXT)]
                   for k in range(len(dataset))]
        results = _dataset_results(dataset, answers)
        assert _score(metric, [{k: r[k] for k in (*metric.keys,
                                                   'pred_answer')}
                               for r in results]) == {
            'num_answers': len(dataset)}
        assert _load(metric.file_path) == ref.vizwiz_convert(
            osp.join(root, 'llava_test.jsonl'),
            [dict(question_id=r['question_id'], text=r['pred_answer'])
             for r in results])


AWKWARD_CHOICES = [
    'B', 'B.', '(B) dog', 'The answer is B', 'A dog is shown here', 'dog',
    'cat and dog', 'Z', "I'm sorry, but without the image provided", 'b',
    'A', 'A. cat', 'It is A', 'Answer: C', '', 'bird', 'B or C', 'four',
    'blue', 'C) six',
]


def xlsx_cells(path):
    """Every cell value of the first sheet, row by row."""
    from openpyxl import load_workbook
    return [list(row) for row in load_workbook(path).active.iter_rows(
        values_only=True)]


@pytest.mark.parametrize('all_rounds', [False, True])
def test_mmbench_prompts_parity(tmp_path, all_rounds):
    pytest.importorskip('pandas')
    info = fx.make_mmbench(str(tmp_path))
    tsv = str(tmp_path / info['tsv'])
    dataset = MMBench(question_file=tsv, all_rounds=all_rounds)
    ours = [dataset.get_data_info(i) for i in range(len(dataset))]
    official = ref.mmbench_prompts(tsv, all_rounds=all_rounds)
    assert [(d['question_id'], d['round_id'], d['question'], d['options'],
             d['option_letters']) for d in ours] == official
    # 'None' as an option ends the options, as pandas' NaN does there.
    assert ours[-1]['options'] == ['two', 'four', 'six'] or all_rounds


def test_mmbench_parity(tmp_path):
    pytest.importorskip('pandas')
    info = fx.make_mmbench(str(tmp_path))
    tsv = str(tmp_path / info['tsv'])
    for all_rounds in (False, True):
        dataset = MMBench(question_file=tsv, all_rounds=all_rounds)
        metric = MMBenchMetric(file_path=str(tmp_path / 'sub.xlsx'))
        metric.check_dataset(dataset)
        n = len(dataset)
        for shift in range(len(AWKWARD_CHOICES)):
            answers = [AWKWARD_CHOICES[(k + shift) % len(AWKWARD_CHOICES)]
                       for k in range(n)]
            results = _dataset_results(dataset, answers)
            metric.results = []
            metric.process(None, results)
            ours = metric.compute_metrics(metric.results)
            rows = [(r['question_id'], metric._choices(r), r['gt_answer'],
                     r['pred_answer']) for r in results]
            assert ours['circular_acc'] == pytest.approx(
                ref.mmbench_circular_eval(rows))
            if not all_rounds:  # LLaVA's file holds one reply per row
                ref.mmbench_submission(
                    tsv, [dict(question_id=r['question_id'],
                               text=r['pred_answer']) for r in results],
                    str(tmp_path / 'official.xlsx'))
                assert xlsx_cells(metric.file_path) == xlsx_cells(
                    str(tmp_path / 'official.xlsx'))
    for text in AWKWARD_CHOICES:
        choices = dict(A='cat', B='dog', C='bird', D='fish')
        assert infer_choice(text, choices) == ref.vlmeval_can_infer(
            text, choices), text
    assert infer_choice('The answer is B', dict(A='x', B='y')) == 'B'
    assert infer_choice('It is A', dict(A='x', B='y')) == 'A'


def test_mmbench_test_split_submission(tmp_path):
    pytest.importorskip('pandas')
    info = fx.make_mmbench(str(tmp_path), with_answers=False)
    tsv = str(tmp_path / info['tsv'])
    dataset = MMBench(question_file=tsv)
    metric = MMBenchMetric(file_path=str(tmp_path / 'sub.xlsx'))
    metric.check_dataset(dataset)
    results = _dataset_results(dataset, AWKWARD_CHOICES)
    metric.process(None, results)
    assert metric.compute_metrics(metric.results) == {
        'num_answers': len(dataset)}
    ref.mmbench_submission(tsv, [dict(question_id=r['question_id'],
                                      text=r['pred_answer'])
                                 for r in results],
                           str(tmp_path / 'official.xlsx'))
    assert xlsx_cells(metric.file_path) == xlsx_cells(
        str(tmp_path / 'official.xlsx'))
