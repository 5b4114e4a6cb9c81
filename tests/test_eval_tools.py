"""tools/test.py end to end on a tiny model: caption and VQAv2, one and two
processes, interrupted and resumed runs.

Single-process runs call tools/test.py's main() in this process (a new
process costs ~7 s of imports); the two-process run goes through
tools/dist_test.sh and torchrun."""
import glob
import json
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config

from eval_helpers import (
    REPO,
    VQA_QUESTIONS,
    load_json,
    make_caption_set,
    make_checkpoint,
    make_vqa_set,
    read_jsonl_records,
    run_test_main,
    run_test_py,
    write_config,
    write_vqa_annotations,
)
from llava_mm.engine.run_lock import WorkDirLock
from llava_mm.evaluation import evalai_answer

# Annotators per question that give the model's own answer, and the official
# accuracy that makes: 0.3 per match up to 2, 0.9 for 3, 1.0 from 4 on.
MATCHES = [4, 2, 3, 1, 0, 10, 2]
ACCURACY = {0: 0.0, 1: 0.3, 2: 0.6, 3: 0.9, 4: 1.0, 10: 1.0}


def metrics_of(work_dir: str) -> dict:
    """The metrics the LoggerHook wrote for the latest run."""
    runs = sorted(glob.glob(osp.join(work_dir, '2*', '2*.json')))
    with open(runs[-1]) as f:
        return json.loads(f.read().splitlines()[-1])


def log_of(work_dir: str) -> str:
    """The text log of the latest run.

    mmengine names the log directory by the second its Runner started, so
    two runs started within one second append to one file; the latest run
    is the part from the last environment header on.
    """
    with open(sorted(glob.glob(osp.join(work_dir, '2*', '2*.log')))[-1]) as f:
        text = f.read()
    return text[max(text.rfind('System environment:'), 0):]


def predictions_of(records):
    """The prediction fields of --out records (ids and ``pred_*``)."""
    keys = ('index', 'image_id', 'question_id')
    return [{k: v for k, v in r.items() if k in keys or k.startswith(
        'pred_')} for r in records]


def assert_each_once(records, n):
    indices = [r['index'] for r in records]
    assert sorted(indices) == list(range(n)), indices


@pytest.fixture(scope='module')
def vqa(tmp_path_factory, tokenizer_dir):
    """A 7-question VQAv2 set, a tiny VQA checkpoint and the reference
    (single-process) predictions."""
    root = tmp_path_factory.mktemp('vqa_eval')
    paths = make_vqa_set(str(root / 'data'))
    write_vqa_annotations(paths['ann_file'], [['nomatch'] * 10] * 7)
    ckpt = str(root / 'tiny_vqa.pth')
    model_cfg = make_checkpoint(ckpt, tokenizer_dir, 'vqa')
    config = write_config(
        str(root / 'tiny_vqa.py'), 'coco_vqa.py', model_cfg,
        test_dataloader=dict(dataset=dict(
            data_root=str(root / 'data'), data_prefix='images',
            question_file=paths['question_file'],
            ann_file=paths['ann_file'])))
    ref_dir = str(root / 'ref')
    metrics = run_test_main(config, ckpt, ref_dir, '--out',
                            osp.join(ref_dir, 'preds.json'))
    return dict(root=root, ann_file=paths['ann_file'], ckpt=ckpt,
                config=config, ref_dir=ref_dir, metrics=metrics,
                preds=load_json(osp.join(ref_dir, 'preds.json')))


@pytest.fixture(scope='module')
def scored(vqa):
    """Rewrite the answers so each question has MATCHES[k] annotators
    agreeing with the reference prediction; return the expected metrics."""
    answers = []
    for pred, m in zip(vqa['preds'], MATCHES):
        answers.append([evalai_answer(pred['pred_answer'])] * m +
                       ['nomatch'] * (10 - m))
    write_vqa_annotations(vqa['ann_file'], answers)
    per_type = {}
    for (_, _, _, t), m in zip(VQA_QUESTIONS, MATCHES):
        per_type.setdefault(t, []).append(ACCURACY[m])
    expected = {'VQA/acc': 100 * sum(ACCURACY[m] for m in MATCHES) / 7}
    for t, accs in per_type.items():
        expected[f'VQA/acc_{t}'] = 100 * sum(accs) / len(accs)
    return expected


def assert_metrics(work_dir, expected):
    got = metrics_of(work_dir)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=1e-9), (key, got)


def test_vqa_single_process(vqa):
    ref = vqa['ref_dir']
    preds = vqa['preds']
    assert [p['question_id'] for p in preds] == [q[1] for q in VQA_QUESTIONS]
    assert [p['image_id'] for p in preds] == [q[0] for q in VQA_QUESTIONS]
    assert all(isinstance(p['pred_answer'], str) for p in preds)
    assert_each_once(read_jsonl_records(ref), 7)
    assert osp.isfile(osp.join(ref, 'tiny_vqa.py'))  # config dumped
    log = log_of(ref)
    assert 'Epoch(test) [4/4]' in log and 'eta:' in log  # per-batch log
    assert re.search(r'Predicted 7 samples in [\d.]+ s \([\d.]+ samples/s',
                     log) and re.search(r'Scored in [\d.]+ s', log)
    assert metrics_of(ref)['VQA/acc'] == 0.0  # no annotator agrees yet
    assert vqa['metrics']['VQA/acc'] == 0.0


def test_vqa_rescore_by_resume(vqa, scored, tmp_path):
    """--resume with every prediction on disk generates nothing and scores
    the stored predictions against the (corrected) answers."""
    ref = vqa['ref_dir']
    run_test_main(vqa['config'], vqa['ckpt'], ref, '--resume')
    assert '7 of 7 predictions restored' in log_of(ref)
    assert 'Epoch(test) [1/' not in log_of(ref)  # no batch was run
    assert len(read_jsonl_records(ref)) == 7
    assert_metrics(ref, scored)


def test_vqa_submission_file(vqa):
    """ReportVQA (the test-dev evaluator) on the stored predictions of a
    split without answers."""
    submission = osp.join(vqa['ref_dir'], 'vqa_submission.json')
    metrics = run_test_main(
        vqa['config'], vqa['ckpt'], vqa['ref_dir'], '--resume',
        cfg_options=['test_evaluator.type=ReportVQA',
                     "test_dataloader.dataset.ann_file=''"])
    assert metrics == {'VQA/num_answers': 7}
    assert load_json(submission) == [
        dict(question_id=p['question_id'],
             answer=evalai_answer(p['pred_answer']))
        for p in vqa['preds']]
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'llava',
                                   'llava-7b-v1.5_vqa-test-dev.py'))
    assert cfg.test_evaluator.type == 'ReportVQA'
    assert cfg.test_dataloader.dataset.ann_file == ''
    assert cfg.model.task == 'vqa'


def test_vqa_two_processes(vqa, scored, tmp_path):
    """7 samples on 2 ranks (DefaultSampler would pad to 8): the same
    predictions and metrics as one process, each sample once."""
    work_dir = str(tmp_path / 'dist')
    out = osp.join(work_dir, 'preds.json')
    run_test_py(vqa['config'], vqa['ckpt'], work_dir, '--out', out,
                nproc=2)
    assert sorted(glob.glob(osp.join(work_dir, 'predictions_rank*'))) == [
        osp.join(work_dir, f'predictions_rank{r}.jsonl') for r in (0, 1)]
    assert_each_once(read_jsonl_records(work_dir), 7)
    assert predictions_of(load_json(out)) == predictions_of(vqa['preds'])
    assert_metrics(work_dir, scored)


def test_vqa_interrupt_and_resume(vqa, scored, tmp_path, capfd):
    work_dir = str(tmp_path / 'resume')
    out = osp.join(work_dir, 'preds.json')
    assert run_test_main(vqa['config'], vqa['ckpt'], work_dir,
                         cfg_options=['test_cfg.max_batches=2']) == {}
    first = read_jsonl_records(work_dir)
    # Two batches of two, longest questions first (test_batching.py).
    assert len({r['index'] for r in first}) == 4
    assert 'no metrics yet' in log_of(work_dir)
    assert not osp.exists(out)

    capfd.readouterr()
    run_test_main(vqa['config'], vqa['ckpt'], work_dir, '--resume', '--out',
                  out)
    # The console: a progress bar (2 batches), the metrics and the files;
    # mmengine's environment, config and hook table only in the log.
    console = capfd.readouterr()
    console = console.out + console.err
    assert 'Predicting' in console and '3/3 [' in console
    for hidden in ('System environment', 'Config:', 'Hooks will be'):
        assert hidden not in console and hidden in log_of(work_dir)
    hooks = log_of(work_dir)
    assert 'CheckpointHook' not in hooks[hooks.index('Hooks will be'):]
    table = console[console.index('metric'):]
    assert 'VQA/acc ' in table and out in table
    assert osp.join(work_dir, 'predictions_rank0.jsonl') in table
    # --out: question, annotators' answers, submitted answer, accuracy.
    samples = load_json(out)
    assert [s['question'] for s in samples] == [q[2] for q in VQA_QUESTIONS]
    assert [s['accuracy'] for s in samples] == pytest.approx(
        [ACCURACY[m] for m in MATCHES])
    assert all(len(s['answers']) == 10 and s['submitted_answer'] ==
               evalai_answer(s['pred_answer']) for s in samples)
    log = log_of(work_dir)
    assert '4 of 7 predictions restored' in log
    assert '3 to generate' in log and 'Epoch(test) [2/2]' in log
    assert 'Predicted 3 samples in' in log
    records = read_jsonl_records(work_dir)
    assert records[:4] == first  # kept, not generated again
    assert_each_once(records, 7)
    assert predictions_of(samples) == predictions_of(vqa['preds'])
    assert_metrics(work_dir, scored)

    # Predictions of another model config are not mixed in.
    with pytest.raises(ValueError, match='different model'):
        run_test_main(vqa['config'], vqa['ckpt'], work_dir, '--resume',
                      cfg_options=['model.generation_cfg.max_new_tokens=3'])
    assert len(read_jsonl_records(work_dir)) == 7


def test_resume_refuses_other_weights_dtype_and_a_live_run(vqa, tmp_path,
                                                           capfd):
    """Half a run, then: other weights of the same size written to the same
    path, another dtype, a second run on the work dir; each is refused,
    naming what differs, and the stored predictions are kept."""
    ckpt, work_dir = str(tmp_path / 'ckpt.pth'), str(tmp_path / 'work')
    # Saved here, so the other weights below serialise to the same size.
    state = torch.load(vqa['ckpt'], weights_only=True)
    torch.save(state, ckpt)
    run_test_main(vqa['config'], ckpt, work_dir,
                  cfg_options=['test_cfg.max_batches=1'])
    assert len(read_jsonl_records(work_dir)) == 2
    capfd.readouterr()
    with pytest.raises(ValueError, match='different runtime') as e:
        run_test_main(vqa['config'], ckpt, work_dir, '--resume', '--dtype',
                      'bf16', '--verbose')
    assert "dtype: file 'float32', this run 'bfloat16'" in str(e.value)
    assert 'Config:' in capfd.readouterr().out  # --verbose: all of it

    lock = WorkDirLock(work_dir)
    lock.acquire()
    try:
        with pytest.raises(RuntimeError, match='Another test run'):
            run_test_main(vqa['config'], ckpt, work_dir, '--resume')
    finally:
        lock.release()

    size = osp.getsize(ckpt)
    for value in state.values():
        if value.is_floating_point():
            value.mul_(0.5)
    torch.save(state, ckpt)
    assert osp.getsize(ckpt) == size
    with pytest.raises(ValueError, match='different checkpoint') as e:
        run_test_main(vqa['config'], ckpt, work_dir, '--resume')
    assert 'sampled_sha256' in str(e.value)
    assert len(read_jsonl_records(work_dir)) == 2
    assert not osp.exists(osp.join(work_dir, 'run.lock'))


def test_caption_single_process(tmp_path, tokenizer_dir, monkeypatch,
                                capfd):
    data = make_caption_set(str(tmp_path / 'data'))
    other_root = str(tmp_path / 'other')
    ckpt = str(tmp_path / 'tiny_caption.pth')
    model_cfg = make_checkpoint(ckpt, tokenizer_dir, 'caption')
    config = write_config(
        str(tmp_path / 'tiny_caption.py'), 'coco_caption.py', model_cfg,
        test_dataloader=dict(dataset=dict(data_root=str(tmp_path / 'data'),
                                          ann_file=data['ann_file'])),
        test_evaluator=dict(type='COCOCaption', ann_file=data['gt_file']))
    work_dir = str(tmp_path / 'work')
    out = osp.join(work_dir, 'captions.json')
    metrics = run_test_main(config, ckpt, work_dir, '--out', out,
                            cfg_options=['test_dataloader.batch_size=3'])
    preds = load_json(out)
    assert [p['image_id'] for p in preds] == sorted(data['refs'])
    assert [p['references'] for p in preds] == [
        data['refs'][i] for i in sorted(data['refs'])]
    console = capfd.readouterr()
    assert 'PTBTokenizer tokenized' not in console.out + console.err
    assert 'PTBTokenizer tokenized' in log_of(work_dir)
    assert all(isinstance(p['pred_caption'], str) for p in preds)
    logged = metrics_of(work_dir)
    for key in ('Bleu_1', 'Bleu_4', 'METEOR', 'ROUGE_L', 'CIDEr'):
        assert 0.0 <= metrics[key] <= 10.0, metrics
        assert logged[key] == pytest.approx(metrics[key])
    log = log_of(work_dir)
    assert 'Epoch(test) [2/2]' in log  # 5 images, batches of 3
    if 'SPICE' not in metrics:
        assert log.count('SPICE skipped') == 1

    # Another copy of the data with the same image ids: moving only the
    # dataset is refused before any generation; --data-root moves the
    # ground truth too; --prompt keeps its spaces.
    other = make_caption_set(str(tmp_path / 'other'), animal='horses')
    with pytest.raises(ValueError, match='share no caption'):
        run_test_main(config, ckpt, str(tmp_path / 'half_moved'),
                      cfg_options=[
                          f'test_dataloader.dataset.data_root={other_root}',
                          f'test_dataloader.dataset.ann_file='
                          f'{other["ann_file"]}'])
    assert not glob.glob(str(tmp_path / 'half_moved' / 'predictions*'))
    prompt = 'Describe   the picture in a few words.'
    moved = run_test_main(config, ckpt, str(tmp_path / 'moved'),
                          '--data-root', other_root, '--prompt', prompt)
    dumped = Config.fromfile(osp.join(tmp_path, 'moved',
                                      'tiny_caption.py'))
    assert dumped.test_evaluator.ann_file == other['gt_file']
    assert dumped.test_dataloader.dataset.ann_file == other['ann_file']
    header = json.loads(open(osp.join(
        tmp_path, 'moved', 'predictions_rank0.jsonl')).readline())
    assert header['header']['generation']['caption_prompt'] == prompt
    assert set(moved) == set(metrics)

    # Without Java the run stops before the model is loaded (only the
    # local files were checked).
    monkeypatch.setenv('PATH', str(tmp_path))
    with pytest.raises(RuntimeError, match='need Java'):
        run_test_main(config, ckpt, str(tmp_path / 'no_java'))
    assert not osp.exists(tmp_path / 'no_java')
