"""LlavaVisualizer and tools/test.py --show-dir (VisualizationHook)."""
import os
import os.path as osp

import mmcv
import numpy as np
import pytest
from mmpretrain.structures import DataSample
from PIL import Image

from eval_helpers import VQA_QUESTIONS, make_vqa_eval, run_test_main
from llava_mm.registry import HOOKS, VISUALIZERS
from llava_mm.visualization import LlavaVisualizer
from llava_mm.visualization.visualizer import ground_truth_text


def test_ground_truth_text():
    refs = DataSample(gt_caption=['a red circle', 'a circle', 'red'])
    assert ground_truth_text(refs) == 'a red circle (+2 more)'
    assert ground_truth_text(DataSample(gt_caption='one')) == 'one'
    assert ground_truth_text(DataSample(gt_answer=['2', 'two'])) == '2 / two'
    assert ground_truth_text(DataSample(pred_caption='x')) is None


def test_visualizer_adds_ground_truth():
    vis = VISUALIZERS.build(dict(type='LlavaVisualizer', name='vis_gt_test'))
    assert isinstance(vis, LlavaVisualizer)
    image = np.full((64, 48, 3), 90, np.uint8)
    sample = DataSample(pred_caption='a small red circle.',
                        gt_caption=['a large blue square.'])
    with_gt = vis.visualize_prediction(image, sample)
    without = vis.visualize_prediction(image, sample, draw_gt=False)
    assert with_gt.shape == without.shape == (341, 256, 3)  # short edge 256
    assert (with_gt != without).any()
    assert sample.pred_caption == 'a small red circle.'  # not modified
    with pytest.raises(KeyError, match='neither'):
        vis.visualize_prediction(image, DataSample())


def test_test_py_show_dir(tmp_path, tokenizer_dir):
    assert 'VisualizationHook' in HOOKS
    made = make_vqa_eval(str(tmp_path), tokenizer_dir)
    config, ckpt = made['config'], made['ckpt']
    show_dir = tmp_path / 'show'
    run_test_main(config, ckpt, str(tmp_path / 'work'), '--show-dir',
                  str(show_dir), '--show-interval', '3')
    # 7 questions, batches of 2: dataset indices 0, 3 and 6 are drawn.
    expected = [f'{k}_shapes_{VQA_QUESTIONS[k][0]:012d}.png'
                for k in (0, 3, 6)]
    assert sorted(os.listdir(show_dir)) == expected
    for name in expected:
        drawn = np.asarray(Image.open(show_dir / name).convert('RGB'))
        image_file = osp.join(tmp_path, 'data', 'images',
                              name.split('_', 1)[1])
        original = np.asarray(Image.open(image_file).convert('RGB'))
        # Enlarged to a 256-pixel short edge (as mmcv resizes), with the
        # question, answer and ground truth in a box at the top.
        assert min(drawn.shape[:2]) == 256
        enlarged = mmcv.imresize(original, drawn.shape[1::-1])
        changed = (drawn != enlarged).any(-1)
        assert changed[:40].mean() > 0.3 and not changed[-60:].any()
