"""The benchmark tool and its llava-hf export, on the tiny preset."""
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch

from llava_mm import init_model
from llava_mm.converters.to_llava_hf import export_llava_hf, hf_vocab_size
from llava_mm.converters.to_mm import convert_llava_hf
from tools.analysis_tools.llava_bench.checkpoints import (
    benchmark_config,
    make_tokenizer,
    write_random_checkpoint,
)
from tools.analysis_tools.llava_bench.memory import child
from tools.analysis_tools.llava_bench.timing import (
    StepTimer,
    hf_generate,
    make_requests,
    ours_generate,
)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp('bench')
    cfg = benchmark_config('tiny', make_tokenizer(str(root / 'tok')))
    cfg_path = str(root / 'tiny_config.py')
    cfg.dump(cfg_path)
    ckpt = str(root / 'tiny.pth')
    n = write_random_checkpoint(cfg, ckpt, dtype=torch.float32)
    hf_dir = export_llava_hf(cfg, ckpt, str(root / 'hf'))
    return dict(root=root, cfg=cfg, cfg_path=cfg_path, ckpt=ckpt,
                hf_dir=hf_dir, n=n)


def test_random_checkpoint(tiny):
    state = torch.load(tiny['ckpt'], mmap=True, weights_only=True)
    assert sum(t.numel() for t in state.values()) == tiny['n']
    # All vision blocks are written (3), though the model builds 2.
    assert 'model.vision_tower.layers.2.attn.qkv.weight' in state
    w = state['model.lang_encoder.model.layers.0.mlp.up_proj.weight']
    assert 0.015 < w.std().item() < 0.025
    assert torch.all(state['model.lang_encoder.model.norm.weight'] == 1)


def test_export_round_trip(tiny):
    """export_llava_hf is the inverse of convert_llava_hf."""
    orig = torch.load(tiny['ckpt'], mmap=True, weights_only=True)
    back = convert_llava_hf(tiny['hf_dir'])
    assert set(back) == set(orig)
    for k, v in orig.items():
        assert torch.equal(back[k], v), k


def test_exported_model_matches_ours(tiny):
    """transformers' LLaVA on the exported dir computes what ours does."""
    from transformers import LlavaForConditionalGeneration
    ours = init_model(tiny['cfg'], tiny['ckpt'], device='cpu', dtype='fp32')
    hf = LlavaForConditionalGeneration.from_pretrained(
        tiny['hf_dir'], dtype=torch.float32).eval()
    assert hf.config.text_config.vocab_size == hf_vocab_size(2048) == 2112
    images, prompts = make_requests(2, 28)
    mine = ours_generate(ours, images, prompts, 6, StepTimer())
    ref = hf_generate(hf, ours, images, prompts, 6, StepTimer())
    assert torch.equal(mine, ref)
    assert len(set(mine.flatten().tolist())) > 2


def test_load_child(tiny):
    """The load measurement (run in-process here) reports its fields."""
    for impl, path in [('ours', tiny['ckpt']), ('hf', tiny['hf_dir'])]:
        r = child(impl, tiny['cfg_path'], path, 'fp32', 3, touch=True)
        assert r['peak_rss'] >= r['peak_rss_load'] > 0
        assert r['load_s'] > 0 and r['touch_s'] >= 0
        assert len(r['tokens']) == 3 and r['decode_tokens_per_s'] > 0


def test_benchmark_cli_writes_json(tmp_path):
    out = tmp_path / 'bench.json'
    subprocess.run(
        [sys.executable,
         osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark.py'),
         '--preset', 'tiny', '--work-dir', str(tmp_path / 'w'),
         '--no-load', '--dtype', 'fp32', '--repeats', '1',
         '--new-tokens', '3', '--eval-new-tokens', '2',
         '--batch-sizes', '1', '2', '--requests', '2',
         '--out', str(out)], check=True, capture_output=True)
    res = json.loads(out.read_text())
    assert set(res) >= {'machine', 'config', 'latency', 'throughput',
                        'ratios', 'targets', 'command'}
    assert set(res['ratios']) == {
        'prefill_speedup', 'decode_speedup', 'eval_b1_vs_hf_loop',
        'eval_b2_vs_hf_loop', 'eval_b2_vs_hf_batched'}
    assert all(v > 0 for v in res['ratios'].values())
    assert res['latency']['same_tokens'] is True
    assert res['throughput']['same_tokens_as_hf_b1']['ours_b2'] == 1.0
    # Distance to the machine's limits, both models, batch 1 and 2.
    lim = res['limits']
    assert lim['machine']['matmul_peak_gflops'] > 0
    assert lim['machine']['read_gbps'] > 0
    for name in ('ours', 'hf'):
        assert set(lim[name]) == {
            'prefill_gflops', 'prefill_of_peak', 'decode_b1_gbps',
            'decode_b1_of_bandwidth', 'decode_b2_gbps',
            'decode_b2_of_bandwidth'}
        assert all(v > 0 for v in lim[name].values())
    assert res['config']['engine_applied']['bf16_gemv'] is False


def test_e2e_caption_set_and_processor(tiny, tmp_path):
    """e2e_benchmark's inputs: a COCO-format set our dataset reads, and a
    llava-hf directory whose own processor feeds transformers' LLaVA."""
    from PIL import Image
    from transformers import AutoProcessor, LlavaForConditionalGeneration

    from llava_mm.datasets import COCOCaption
    from tools.analysis_tools.e2e_benchmark import (
        _prompt,
        hf_dir_with_processor,
        make_caption_set,
    )
    paths = make_caption_set(str(tmp_path / 'set'), 3, 28)
    data = COCOCaption(data_root=str(tmp_path / 'set'),
                       ann_file=osp.relpath(paths['ann_file'],
                                            str(tmp_path / 'set')))
    assert len(data) == 3
    assert data.get_data_info(0)['img_path'].endswith('000000.jpg')
    gt = json.load(open(paths['gt_file']))
    assert len(gt['annotations']) == 6
    out = hf_dir_with_processor(tiny['cfg'], tiny['hf_dir'],
                                str(tmp_path / 'hf_proc'))
    processor = AutoProcessor.from_pretrained(out)
    model = LlavaForConditionalGeneration.from_pretrained(out).eval()
    img = Image.open(osp.join(str(tmp_path / 'set'), 'images',
                              '000001.jpg'))
    inputs = processor(images=[img], text=[_prompt(tiny['cfg'])],
                       return_tensors='pt')
    n_image = (inputs['input_ids'] == model.config.image_token_id).sum()
    assert n_image == (28 // 14)**2
    assert inputs['pixel_values'].shape == (1, 3, 28, 28)
    with torch.no_grad():
        ids = model.generate(**inputs, max_new_tokens=3, min_new_tokens=3,
                             do_sample=False)
    assert ids.shape[1] == inputs['input_ids'].shape[1] + 3
