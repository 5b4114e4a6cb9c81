"""COCOCaption and COCOVQA datasets on small sets in the official formats."""
import json
import logging
import os
import os.path as osp

import pytest
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope

from eval_helpers import (
    VQA_QUESTIONS,
    make_caption_set,
    make_images,
    make_vqa_set,
    write_vqa_annotations,
)
from llava_mm.datasets import COCOVQA, COCOCaption
from llava_mm.registry import DATASETS
from tiny import tiny_test_pipeline


@pytest.fixture(autouse=True)
def llava_mm_scope():
    """Pipelines build transforms from the default scope, as in a Runner."""
    with DefaultScope.overwrite_default_scope('llava_mm'):
        yield


@pytest.fixture
def caption_set(tmp_path):
    root = str(tmp_path / 'coco')
    return dict(root=root, **make_caption_set(root))


@pytest.fixture
def vqa_set(tmp_path):
    root = str(tmp_path / 'vqa')
    paths = make_vqa_set(root)
    answers = [[f'answer {k}'] * 6 + ['other'] * 4
               for k in range(len(VQA_QUESTIONS))]
    write_vqa_annotations(paths['ann_file'], answers)
    return dict(root=root, answers=answers, **paths)


def _vqa(vqa_set, **kwargs) -> COCOVQA:
    args = dict(data_root=vqa_set['root'], data_prefix='images',
                question_file='annotations/questions.json',
                ann_file='annotations/annotations.json')
    args.update(kwargs)
    return COCOVQA(**args)


def _write(path, obj):
    with open(path, 'w') as f:
        json.dump(obj, f)


def test_caption_dataset(caption_set):
    ds = DATASETS.build(dict(type='COCOCaption', data_root=caption_set['root'],
                             ann_file='annotations/karpathy.json',
                             pipeline=tiny_test_pipeline(28)))
    assert isinstance(ds, COCOCaption) and len(ds) == 5
    info = ds.get_data_info(1)
    assert info['image_id'] == 2
    assert info['gt_caption'] == caption_set['refs'][2]
    assert info['img_path'].endswith('val2014/COCO_val2014_000000000002.jpg')
    item = ds[1]
    assert tuple(item['inputs'].shape) == (3, 28, 28)
    assert item['data_samples'].image_id == 2


def test_caption_dataset_errors(caption_set):
    root, ann = caption_set['root'], caption_set['ann_file']
    entries = json.load(open(ann))
    entries[2]['image_id'] = 77  # its file name says 3
    _write(ann, entries)
    with pytest.raises(ValueError, match='entry 2 has image_id 77'):
        COCOCaption(data_root=root, ann_file=ann)

    entries[2]['image_id'] = 3
    entries[3]['caption'] = 5
    _write(ann, entries)
    with pytest.raises(ValueError, match='entry 3 "caption" must be'):
        COCOCaption(data_root=root, ann_file=ann)

    _write(ann, dict(images=[], annotations=[]))  # the metric's file
    with pytest.raises(ValueError, match='karpathy.json: expected a JSON'):
        COCOCaption(data_root=root, ann_file=ann)
    _write(ann, [])
    with pytest.raises(ValueError, match='annotation list is empty'):
        COCOCaption(data_root=root, ann_file=ann)


def test_caption_missing_image(caption_set):
    root = caption_set['root']
    missing = osp.join(root, 'val2014', 'COCO_val2014_000000000003.jpg')
    os.remove(missing)
    with pytest.raises(FileNotFoundError) as err:
        COCOCaption(data_root=root, ann_file=caption_set['ann_file'])
    assert 'sample 2' in str(err.value) and missing in str(err.value)
    ds = COCOCaption(data_root=root, ann_file=caption_set['ann_file'],
                     skip_missing=True)
    assert [ds.get_data_info(i)['image_id'] for i in range(len(ds))] == [
        1, 2, 5, 8]


def test_vqa_dataset(vqa_set):
    ds = DATASETS.build(dict(type='COCOVQA', data_root=vqa_set['root'],
                             data_prefix='images',
                             question_file='annotations/questions.json',
                             ann_file='annotations/annotations.json',
                             pipeline=tiny_test_pipeline(28)))
    assert isinstance(ds, COCOVQA) and len(ds) == len(VQA_QUESTIONS)
    info = ds.get_data_info(2)
    image_id, question_id, question, answer_type = VQA_QUESTIONS[2]
    assert info['raw_answers'] == vqa_set['answers'][2]  # all 10, in order
    assert info['gt_answer'] == ['answer 2', 'other']
    assert info['gt_answer_weight'] == [0.6, 0.4]
    assert info['answer_type'] == answer_type
    assert info['img_path'].endswith(f'shapes_{image_id:012d}.png')
    sample = ds[2]['data_samples']  # what the model and metrics read
    assert sample.question == question
    assert sample.question_id == question_id
    assert sample.image_id == image_id


def test_vqa_test_split_and_coco_names(vqa_set, tmp_path):
    make_images(str(tmp_path / 'test2015'), (1, 2, 3, 4, 6),
                'COCO_test2015_{:012d}.jpg')
    ds = _vqa(vqa_set, data_prefix=str(tmp_path / 'test2015'), ann_file='')
    info = ds.get_data_info(0)
    assert 'raw_answers' not in info
    assert osp.basename(info['img_path']) == 'COCO_test2015_000000000001.jpg'


def test_vqa_missing_image(vqa_set):
    os.remove(osp.join(vqa_set['root'], 'images', 'shapes_000000000004.png'))
    with pytest.raises(FileNotFoundError) as err:
        _vqa(vqa_set)
    message = str(err.value)
    assert 'sample 4' in message and 'question_id 4000' in message
    assert '000000000004' in message
    assert osp.join(vqa_set['root'], 'images') in message

    handler = logging.Handler()
    handler.records = []
    handler.emit = handler.records.append
    MMLogger.get_current_instance().addHandler(handler)
    try:
        ds = _vqa(vqa_set, skip_missing=True)
    finally:
        MMLogger.get_current_instance().removeHandler(handler)
    assert [ds.get_data_info(i)['question_id'] for i in range(len(ds))] == [
        1000, 1001, 2000, 3000, 6000]
    warnings = [r.getMessage() for r in handler.records
                if 'skipped 2 of 7' in r.getMessage()]
    assert len(warnings) == 1


def test_vqa_format_errors(vqa_set):
    qfile, afile = vqa_set['question_file'], vqa_set['ann_file']
    questions = json.load(open(qfile))
    _write(qfile, questions['questions'])  # a bare list
    with pytest.raises(ValueError, match='questions.json: expected the '
                       'official VQAv2 questions format'):
        _vqa(vqa_set)
    del questions['questions'][1]['question_id']
    _write(qfile, questions)
    with pytest.raises(ValueError, match=r'questions\[1\] lacks'):
        _vqa(vqa_set)

    make_vqa_set(vqa_set['root'])  # questions back; drop one annotation
    anns = json.load(open(afile))
    del anns['annotations'][3]
    _write(afile, anns)
    with pytest.raises(ValueError, match='no annotation for question_id '
                       '3000'):
        _vqa(vqa_set)
    _write(afile, dict(annotations=[dict(question_id=1)]))
    with pytest.raises(ValueError, match=r'annotations\[0\] lacks'):
        _vqa(vqa_set)


def test_vqa_bad_question_text(vqa_set):
    """A question holding "<image>" (or none at all) is refused at load,
    with its question id."""
    qfile = vqa_set['question_file']
    questions = json.load(open(qfile))
    questions['questions'][2]['question'] = '<image>\nIs there a red circle?'
    _write(qfile, questions)
    with pytest.raises(ValueError, match=r'questions\[2\] \(question_id '
                       r'2000\).*"<image>"'):
        _vqa(vqa_set)
    questions['questions'][2]['question'] = ' '
    _write(qfile, questions)
    with pytest.raises(ValueError, match='question_id 2000'):
        _vqa(vqa_set)


def test_vqa_image_folder_problems(vqa_set):
    img_dir = osp.join(vqa_set['root'], 'images')
    make_images(img_dir, (2, ), 'other_{:012d}.jpg')
    with pytest.raises(ValueError, match='Two images .* image id 2'):
        _vqa(vqa_set)
    with pytest.raises(FileNotFoundError, match='Image folder not found'):
        _vqa(vqa_set, data_prefix='nowhere')


def test_empty_dataset_is_an_error(vqa_set):
    for name in os.listdir(osp.join(vqa_set['root'], 'images')):
        os.remove(osp.join(vqa_set['root'], 'images', name))
    with pytest.raises(ValueError, match='COCOVQA has no samples'):
        _vqa(vqa_set, skip_missing=True)
