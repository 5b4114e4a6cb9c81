"""Each benchmark config end to end through tools/test.py, with the shipped
tiny model on a tiny set in the official format: predictions, --out,
--show-dir, and the metrics equal to the official scoring of the same
predictions (tests/bench_reference.py)."""
import json
import os
import os.path as osp

import pytest
from mmengine.config import Config

import bench_fixtures as fx
import bench_reference as ref
from eval_helpers import run_test_main
from llava_mm.conversation import model_prompt_templates

CONFIGS = osp.join(fx.REPO, 'configs', 'llava')


def _official_answers(records):
    """--out records as the answer lines LLaVA's model_vqa_loader writes."""
    return [dict(question_id=r['question_id'], prompt=r['question'],
                 text=r['pred_answer']) for r in records]


def check_pope(root, records, metrics):
    official = ref.pope_eval(osp.join(root, 'coco'),
                             osp.join(root, 'llava_pope_test.jsonl'),
                             _official_answers(records))
    assert set(official) == {'adversarial', 'popular', 'random'}
    for split, scores in official.items():
        for key, value in scores.items():
            assert metrics[f'POPE/{split}/{key}'] == pytest.approx(
                100 * value)


def check_mme(root, records, metrics):
    result_dir = osp.join(root, 'official_results')
    ref.mme_convert(_official_answers(records),
                    osp.join(root, 'MME_Benchmark_release_version'),
                    result_dir)
    official = ref.mme_calculate(result_dir)
    assert metrics['MME/perception'] == pytest.approx(official['Perception'])
    assert metrics['MME/cognition'] == pytest.approx(official['Cognition'])
    for task in ('artwork', 'count', 'code_reasoning'):
        assert metrics[f'MME/{task}'] == pytest.approx(official[task])


def check_scienceqa(root, records, metrics):
    official = ref.sqa_eval(root, [
        dict(question_id=r['question_id'], text=r['pred_answer'],
             prompt='<image>\n' + r['question']) for r in records])
    assert metrics['ScienceQA/img_acc'] == pytest.approx(official['img_acc'])
    assert [r['correct'] for r in records] == [
        r['question_id'] in official['correct'] for r in records]


def check_gqa(root, records, metrics):
    official_preds = ref.gqa_convert(_official_answers(records))
    official = ref.gqa_eval(
        osp.join(root, 'data', 'testdev_balanced_questions.json'),
        official_preds)
    for key in ('accuracy', 'binary', 'open'):
        assert metrics[f'GQA/{key}'] == pytest.approx(official[key])
    work = osp.join(osp.dirname(root), 'work')
    with open(osp.join(work, 'testdev_balanced_predictions.json')) as f:
        assert json.load(f) == official_preds


def check_textvqa(root, records, metrics):
    official = ref.textvqa_eval(osp.join(root, 'TextVQA_0.5.1_val.json'),
                                _official_answers(records))
    assert metrics['TextVQA/accuracy'] == pytest.approx(official['accuracy'])
    assert [r['accuracy'] for r in records] == pytest.approx(
        official['scores'])


def check_seed(root, records, metrics):
    official, upload = ref.seed_eval(osp.join(root, 'SEED-Bench.json'),
                                     _official_answers(records))
    assert metrics['SEED/accuracy'] == pytest.approx(official.pop('total'))
    for name, value in official.items():
        assert metrics[f'SEED/{name}'] == pytest.approx(value)
    work = osp.join(osp.dirname(root), 'work')
    with open(osp.join(work, 'seed_bench_upload.jsonl')) as f:
        assert [json.loads(line) for line in f] == upload


def check_vizwiz(root, records, metrics):
    official = ref.vizwiz_convert(osp.join(root, 'llava_test.jsonl'),
                                  _official_answers(records))
    assert metrics == {'VizWiz/num_answers': len(official)}
    work = osp.join(osp.dirname(root), 'work')
    with open(osp.join(work, 'vizwiz_submission.json')) as f:
        assert json.load(f) == official


def check_mmbench(root, records, metrics):
    pytest.importorskip('pandas')
    from test_bench_metrics import xlsx_cells
    tsv = osp.join(root, 'mmbench_dev_20230712.tsv')
    official_rows = ref.mmbench_prompts(tsv)
    rows = [(r['question_id'], dict(zip(letters, options)), answer,
             r['pred_answer'])
            for r, (_, _, _, options, letters), (*_, answer) in zip(
                records, official_rows, fx.MMBENCH)]
    assert metrics['MMBench/circular_acc'] == pytest.approx(
        ref.mmbench_circular_eval(rows))
    official = osp.join(root, 'official.xlsx')
    ref.mmbench_submission(tsv, _official_answers(records), official)
    work = osp.join(osp.dirname(root), 'work')
    assert xlsx_cells(osp.join(work, 'mmbench_submission.xlsx')) == \
        xlsx_cells(official)


BENCHES = {
    'gqa': (fx.make_gqa, check_gqa),
    'mmbench': (fx.make_mmbench, check_mmbench),
    'mme': (fx.make_mme, check_mme),
    'pope': (fx.make_pope, check_pope),
    'scienceqa': (fx.make_scienceqa, check_scienceqa),
    'seed': (fx.make_seed, check_seed),
    'textvqa': (fx.make_textvqa, check_textvqa),
    'vizwiz': (fx.make_vizwiz, check_vizwiz),
}


@pytest.mark.parametrize('bench', sorted(BENCHES))
def test_bench_config_end_to_end(bench, tmp_path):
    make, check = BENCHES[bench]
    root = str(tmp_path / 'data')
    info = make(root)
    config = fx.tiny_config(osp.join(CONFIGS, f'llava-7b-v1.5_{bench}.py'),
                            str(tmp_path / f'tiny_{bench}.py'))
    out, show = str(tmp_path / 'samples.json'), str(tmp_path / 'show')
    metrics = run_test_main(config, fx.TINY_CHECKPOINT,
                            str(tmp_path / 'work'), '--data-root', root,
                            '--out', out, '--show-dir', show)
    with open(out) as f:
        records = json.load(f)
    assert [r['index'] for r in records] == list(range(info['num_samples']))
    assert all(isinstance(r['pred_answer'], str) for r in records)
    assert len(os.listdir(show)) == info['num_samples']
    check(root, records, metrics)


@pytest.mark.parametrize('bench', sorted(BENCHES))
def test_13b_config_matches_7b(bench):
    small = Config.fromfile(osp.join(CONFIGS, f'llava-7b-v1.5_{bench}.py'))
    large = Config.fromfile(osp.join(CONFIGS, f'llava-13b-v1.5_{bench}.py'))
    assert large.test_dataloader == small.test_dataloader
    assert large.test_evaluator == small.test_evaluator
    assert model_prompt_templates(large.model) == \
        model_prompt_templates(small.model)
    assert large.model.generation_cfg == small.model.generation_cfg
    assert large.model.lang_encoder.config.hidden_size == 5120


@pytest.mark.parametrize('size', ['7b', '13b'])
def test_mmbench_test_config(size):
    cfg = Config.fromfile(osp.join(CONFIGS,
                                   f'llava-{size}-v1.5_mmbench-test.py'))
    assert cfg.test_dataloader.dataset.question_file == \
        'mmbench_test_20230712.tsv'
    assert cfg.test_evaluator.type == 'MMBenchMetric'


def test_mmbench_all_rounds_interrupted_and_resumed(tmp_path):
    """Rows whose image is inside the TSV and several rounds per question
    resume like any other set: nothing predicted twice, same scoring."""
    root = str(tmp_path / 'data')
    fx.make_mmbench(root)
    config = fx.tiny_config(osp.join(CONFIGS, 'llava-7b-v1.5_mmbench.py'),
                            str(tmp_path / 'tiny.py'), batch_size=4)
    work, out = str(tmp_path / 'work'), str(tmp_path / 'samples.json')
    args = (config, fx.TINY_CHECKPOINT, work, '--data-root', root)
    options = ['test_dataloader.dataset.all_rounds=True']
    assert run_test_main(*args, cfg_options=options +
                         ['test_cfg.max_batches=2']) == {}
    with open(osp.join(work, 'predictions_rank0.jsonl')) as f:
        first = [json.loads(line) for line in f][1:]
    assert len(first) == 8
    metrics = run_test_main(*args, '--resume', '--out', out,
                            cfg_options=options)
    with open(out) as f:
        records = json.load(f)
    # 4 rounds + 2 + 4 + 3 = 13 prompts; the first 8 kept, not redone.
    assert len(records) == 13
    assert [r['pred_answer'] for r in records[:8]] == [
        r['pred_answer'] for r in first]
    assert [(r['question_id'], r['round_id']) for r in records[:5]] == [
        (0, 0), (0, 1), (0, 2), (0, 3), (1, 0)]
    groups = {}
    for r in records:
        groups.setdefault(r['question_id'] % 1_000_000, []).append(
            r['correct'])
    assert metrics['MMBench/circular_acc'] == pytest.approx(
        100 * sum(all(g) for g in groups.values()) / len(groups))
