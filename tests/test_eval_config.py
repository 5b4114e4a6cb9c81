"""--data-root and the prompt options of tools/test.py, and the check that
dataset and ground truth belong together."""
import json
import os.path as osp

import pytest
from mmengine.config import Config

from eval_helpers import make_vqa_set
from llava_mm.datasets import COCOVQA
from llava_mm.engine.eval_config import apply_data_root, apply_prompts
from llava_mm.evaluation import ReportVQA


def _cfg(root, **evaluator):
    return Config(dict(
        model=dict(task='vqa', prompt_tmpl='USER: <image>\n{question}'),
        test_dataloader=dict(dataset=dict(
            data_root=root, question_file='annotations/q.json',
            ann_file=osp.join(root, 'annotations', 'a.json'))),
        test_evaluator=dict(type='ReportVQA', **evaluator)))


def test_data_root_moves_dataset_and_ground_truth(tmp_path):
    old, new = str(tmp_path / 'old'), tmp_path / 'new'
    new.mkdir()
    cfg = _cfg(old, test_question_file=osp.join(old, 'annotations',
                                                'test2015.json'))
    moved = apply_data_root(cfg, str(new))
    dataset = cfg.test_dataloader.dataset
    assert dataset.data_root == str(new)
    assert dataset.question_file == 'annotations/q.json'  # follows the root
    assert dataset.ann_file == str(new / 'annotations' / 'a.json')
    assert cfg.test_evaluator.test_question_file == str(
        new / 'annotations' / 'test2015.json')
    assert len(moved) == 3
    # Relative to the working directory, as in the shipped configs.
    cfg = _cfg('data/coco', test_question_file='data/coco/annotations/'
               'test2015.json')
    apply_data_root(cfg, str(new))
    assert cfg.test_evaluator.test_question_file == str(
        new / 'annotations' / 'test2015.json')
    # Ground truth outside the data root cannot follow: say so.
    cfg = _cfg('data/coco', test_question_file='/elsewhere/test2015.json')
    with pytest.raises(ValueError, match='not under the config'):
        apply_data_root(cfg, str(new))
    with pytest.raises(ValueError, match='no such folder'):
        apply_data_root(_cfg('data/coco'), str(tmp_path / 'absent'))


def test_prompt_options_keep_spaces_and_check_the_task():
    cfg = Config(dict(model=dict(task='caption')))
    apply_prompts(cfg, 'A caption,  please.',
                  'USER: <image>\\n{question} ASSISTANT:')
    assert cfg.model.caption_prompt == 'A caption,  please.'
    assert cfg.model.prompt_tmpl == 'USER: <image>\n{question} ASSISTANT:'
    vqa = _cfg('data')
    with pytest.raises(ValueError, match='--prompt-tmpl'):
        apply_prompts(vqa, 'Describe it.')
    with pytest.raises(ValueError, match='must hold'):
        apply_prompts(vqa, prompt_tmpl='USER: <image> ASSISTANT:')
    with pytest.raises(ValueError, match='non-empty'):
        apply_prompts(Config(dict(model=dict(task='caption'))), ' ')


def test_submission_questions_must_cover_the_dataset(tmp_path):
    paths = make_vqa_set(str(tmp_path))
    dataset = COCOVQA(data_root=str(tmp_path), data_prefix='images',
                      question_file=paths['question_file'])
    questions = json.load(open(paths['question_file']))
    full = tmp_path / 'test2015.json'
    full.write_text(json.dumps(questions))
    ReportVQA(test_question_file=str(full)).check_dataset(dataset)
    del questions['questions'][1:3]
    full.write_text(json.dumps(questions))
    with pytest.raises(ValueError, match=r'2 of the 7 questions.*\[1001, '
                       r'2000\]'):
        ReportVQA(test_question_file=str(full)).check_dataset(dataset)
