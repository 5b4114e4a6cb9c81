"""Bad benchmark data gives one clear error naming the file and the fix."""
import json
import os
import os.path as osp

import pytest
from mmengine.config import Config

import bench_fixtures as fx
from llava_mm.datasets import (
    GQA,
    MME,
    POPE,
    LLaVAEvalQuestions,
    MMBench,
    ScienceQA,
)
from llava_mm.engine.eval_config import apply_data_root


def _rewrite_jsonl(path, change):
    with open(path) as f:
        items = [json.loads(line) for line in f]
    change(items)
    fx.dump_jsonl(items, path)


def test_question_file_errors(tmp_path):
    root = str(tmp_path)
    fx.make_vizwiz(root)
    path = osp.join(root, 'llava_test.jsonl')
    _rewrite_jsonl(path, lambda items: items[1].pop('image'))
    with pytest.raises(ValueError, match=r'llava_test.jsonl: line 2 lacks '
                       r"\['image'\]"):
        LLaVAEvalQuestions(data_root=root, question_file='llava_test.jsonl')
    with open(path, 'a') as f:
        f.write('{not json\n')
    with pytest.raises(ValueError, match='line 4: not valid JSON'):
        LLaVAEvalQuestions(data_root=root, question_file='llava_test.jsonl')
    with pytest.raises(FileNotFoundError, match='question file not found'):
        LLaVAEvalQuestions(data_root=root, question_file='absent.jsonl')


def test_missing_image_named_or_skipped(tmp_path):
    root = str(tmp_path)
    fx.make_vizwiz(root)
    os.remove(osp.join(root, 'test', 'VizWiz_test_00000001.jpg'))
    with pytest.raises(FileNotFoundError, match='question_id 1, no file'):
        LLaVAEvalQuestions(data_root=root, question_file='llava_test.jsonl',
                           data_prefix='test')
    kept = LLaVAEvalQuestions(data_root=root,
                              question_file='llava_test.jsonl',
                              data_prefix='test', skip_missing=True)
    assert [kept.get_data_info(i)['question_id'] for i in range(2)] == [0, 2]


def test_pope_labels_must_belong_to_questions(tmp_path):
    root = str(tmp_path)
    fx.make_pope(root)
    kwargs = dict(data_root=root, question_file='llava_pope_test.jsonl',
                  data_prefix='val2014')
    assert len(POPE(**kwargs)) == 6
    assert len(POPE(categories=['random'], **kwargs)) == 2
    label = osp.join(root, 'coco', 'coco_pope_popular.json')
    _rewrite_jsonl(label, lambda items: items.reverse())
    with pytest.raises(ValueError, match="split 'popular', question 1: "
                       'image .* do not belong together'):
        POPE(**kwargs)
    _rewrite_jsonl(label, lambda items: items.pop())
    with pytest.raises(ValueError, match="'popular': 2 questions .* but 1 "
                       'labels'):
        POPE(**kwargs)


def test_mme_question_must_be_in_ground_truth(tmp_path):
    root = str(tmp_path)
    fx.make_mme(root)
    path = osp.join(root, 'llava_mme.jsonl')

    def change(items):
        items[2]['text'] = 'Is this artwork titled Noon?' + fx.SHORT
    _rewrite_jsonl(path, change)
    with pytest.raises(ValueError, match='artwork/10049.jpg .* not in its '
                       'ground-truth file artwork/10049.txt'):
        MME(data_root=root, question_file='llava_mme.jsonl',
            data_prefix='MME_Benchmark_release_version')


def test_gqa_and_scienceqa_files_must_belong_together(tmp_path):
    gqa_root = str(tmp_path / 'gqa')
    fx.make_gqa(gqa_root)
    path = osp.join(gqa_root, 'llava_gqa_testdev_balanced.jsonl')
    _rewrite_jsonl(path, lambda items: items[0].update(question_id='1'))
    with pytest.raises(ValueError, match='GQA question 1 .* not in'):
        GQA(data_root=gqa_root,
            question_file='llava_gqa_testdev_balanced.jsonl',
            ann_file='data/testdev_balanced_questions.json',
            data_prefix='data/images')
    sqa_root = str(tmp_path / 'sqa')
    fx.make_scienceqa(sqa_root)
    with pytest.raises(ValueError, match="problem '4' .* not in the 'val' "
                       'split'):
        ScienceQA(data_root=sqa_root, question_file='llava_test_CQM-A.json',
                  ann_file='problems.json', split='val',
                  data_prefix='images/test')


def test_mmbench_bad_image_cell(tmp_path):
    info = fx.make_mmbench(str(tmp_path))
    tsv = str(tmp_path / info['tsv'])
    with open(tsv) as f:
        lines = f.read().split('\n')
    cells = lines[2].split('\t')
    cells[9] = 'not*base64'
    lines[2] = '\t'.join(cells)
    with open(tsv, 'w') as f:
        f.write('\n'.join(lines))
    with pytest.raises(ValueError, match=r'row 2 \(index 1\): the image '
                       'cell is not base64'):
        MMBench(question_file=tsv)


def test_data_root_moves_absolute_label_dir(tmp_path):
    old = str(tmp_path / 'old')
    cfg = Config(dict(
        test_dataloader=dict(dataset=dict(
            type='POPE', data_root=old,
            question_file=osp.join(old, 'llava_pope_test.jsonl'),
            label_dir=osp.join(old, 'coco'))),
        test_evaluator=dict(type='POPEMetric')))
    new = tmp_path / 'new'
    new.mkdir()
    apply_data_root(cfg, str(new))
    assert cfg.test_dataloader.dataset.label_dir == str(new / 'coco')
