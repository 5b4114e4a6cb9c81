"""Evaluation batches: a batch size per device, and samples run longest
question first; neither changes a prediction."""
import os.path as osp

import pytest
import torch
from transformers import AutoTokenizer, StaticCache

from eval_helpers import (
    VQA_QUESTIONS,
    load_json,
    make_checkpoint,
    make_vqa_set,
    read_jsonl_records,
    run_test_main,
    write_config,
    write_vqa_annotations,
)
from llava_mm import get_model
from llava_mm.engine.batching import (
    CPU_BATCH_SIZE,
    TEXT_POSITIONS,
    auto_batch_size,
    cache_bytes_per_sample,
    group_by_length,
    max_positions,
    resolve_batch_size,
    resolve_num_workers,
)
from llava_mm.utils.hf_compat import CACHE_KWARG


def test_group_by_length_is_a_stable_permutation():
    idx = [7, 3, 9, 1, 4]
    out = group_by_length(idx, [2, 5, 2, 9, 5])
    assert out == [1, 3, 4, 7, 9]
    assert group_by_length(idx, [0] * 5) == idx  # captions: unchanged


def test_batch_size_per_device():
    model = get_model('llava-tiny-shapes_vqa', device='cpu')
    assert auto_batch_size(model) == CPU_BATCH_SIZE
    assert resolve_batch_size('auto', model) == CPU_BATCH_SIZE
    assert resolve_batch_size(3, model) == 3
    for bad in (0, 'big', 2.5):
        with pytest.raises(ValueError, match='batch_size'):
            resolve_batch_size(bad, model)
    # Loader processes would take the CPU model's cores.
    assert resolve_num_workers('auto', model) == 0
    assert resolve_num_workers(3, model) == 3
    with pytest.raises(ValueError, match='num_workers'):
        resolve_num_workers(-1, model)


def test_positions_planned_per_model(tokenizer_dir):
    """v1.5: one image's patches plus the text; LLaVA-NeXT: the most
    image positions any image can take (a 2x2 grid here: the base view,
    4 tiles and a newline per row of patches)."""
    from llava_mm.registry import MODELS
    from tiny import tiny_llava_next_model_cfg
    v15 = get_model('llava-tiny-shapes_vqa', device='cpu')
    assert max_positions(v15) == v15.num_image_tokens() + TEXT_POSITIONS
    with torch.device('meta'):
        nxt = MODELS.build(tiny_llava_next_model_cfg(tokenizer_dir, 512,
                                                     img_size=56))
    side = 56 // 14
    assert max_positions(nxt) == (side**2 + (2 * side) * (2 * side + 1)
                                  + TEXT_POSITIONS)


def test_cache_estimate_is_what_a_static_cache_allocates():
    """The per-sample estimate behind the GPU batch size is the size of
    the cache transformers really allocates."""
    model = get_model('llava-tiny-shapes_vqa', device='cpu')
    lm = model.lang_encoder
    cache = StaticCache(config=lm.config, max_cache_len=96)
    embeds = torch.zeros(3, 5, lm.config.hidden_size)
    with torch.no_grad():
        lm(inputs_embeds=embeds, use_cache=True, **{CACHE_KWARG: cache})
    allocated = sum(t.nbytes for layer in cache.layers
                    for t in (layer.keys, layer.values))
    assert cache_bytes_per_sample(model, 96) * 3 == allocated


def test_grouped_run_predicts_the_same(tmp_path, tokenizer_dir):
    """tools/test.py runs the questions longest first by default and writes
    the same predictions as in dataset order."""
    paths = make_vqa_set(str(tmp_path / 'data'))
    write_vqa_annotations(paths['ann_file'],
                          [['nomatch'] * 10] * len(VQA_QUESTIONS))
    ckpt = str(tmp_path / 'tiny_vqa.pth')
    config = write_config(
        str(tmp_path / 'tiny_vqa.py'), 'coco_vqa.py',
        make_checkpoint(ckpt, tokenizer_dir, 'vqa'),
        test_dataloader=dict(batch_size=2, dataset=dict(
            data_root=str(tmp_path / 'data'), data_prefix='images',
            question_file=paths['question_file'],
            ann_file=paths['ann_file'])))
    runs = {}
    for grouped in (True, False):
        work = str(tmp_path / f'grouped_{grouped}')
        run_test_main(config, ckpt, work, '--out',
                      osp.join(work, 'preds.json'),
                      cfg_options=[f'test_cfg.group_by_length={grouped}'])
        order = [r['index'] for r in read_jsonl_records(work)]
        runs[grouped] = (order, load_json(osp.join(work, 'preds.json')))
    assert runs[False][0] == list(range(len(VQA_QUESTIONS)))
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    lengths = [len(tok(q[2])['input_ids']) for q in VQA_QUESTIONS]
    grouped_lengths = [lengths[i] for i in runs[True][0]]
    assert grouped_lengths == sorted(lengths, reverse=True)
    assert runs[True][0] != runs[False][0]
    key = {r['index']: r for r in runs[False][1]}
    assert {r['index']: r for r in runs[True][1]} == key
