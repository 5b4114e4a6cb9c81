"""fp32 kernels for the prompt pass of a bf16 model."""
import pytest
import torch
from mmpretrain.structures import DataSample

from llava_mm import init_model
from llava_mm.generation.kv_cache import CACHE_KWARG, PreallocatedCache
from llava_mm.ops.cpu.fp32_prefill import use_fp32_prefill
from tools.analysis_tools.llava_bench.checkpoints import (
    benchmark_config,
    make_tokenizer,
    write_random_checkpoint,
)
from tools.analysis_tools.llava_bench.timing import make_requests


@pytest.fixture(scope='module')
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp('bf16')
    cfg = benchmark_config('tiny', make_tokenizer(str(root / 'tok')))
    ckpt = str(root / 'tiny.pth')
    write_random_checkpoint(cfg, ckpt, std=0.05)
    return (init_model(cfg, ckpt, device='cpu', dtype='bf16'),
            init_model(cfg, ckpt, device='cpu', dtype='fp32'))


def _logits(model, images, prompts):
    samples = [DataSample(metainfo=dict(question=p)) for p in prompts]
    with torch.no_grad():
        return model(images, samples, mode='tensor').float()


def test_fp32_prefill_is_bf16_arithmetic(models):
    bf16, fp32 = models
    images, prompts = make_requests(2, 28)
    ptrs = [p.data_ptr() for p in bf16.parameters()]
    plain = _logits(bf16, images, prompts)
    ref = _logits(fp32, images, prompts)
    handles = use_fp32_prefill(bf16, min_tokens=8)
    try:
        fast = _logits(bf16, images, prompts)
        # The weights are the same bf16 tensors afterwards.
        assert [p.data_ptr() for p in bf16.parameters()] == ptrs
        assert all(p.dtype == torch.bfloat16 for p in bf16.parameters())
        # It differs from the plain bf16 run by bf16 noise (no more than
        # bf16's own error), and is on average no further from fp32.
        bf16_err = (plain - ref).abs().max().item()
        assert 0 < bf16_err < 0.05 * ref.abs().max().item()
        assert (fast - plain).abs().max().item() <= 2 * bf16_err
        err_fast = (fast - ref).abs().mean().item()
        err_plain = (plain - ref).abs().mean().item()
        assert err_fast <= 1.5 * err_plain, (err_fast, err_plain)
        # Generation: fp32 prompt pass, bf16 decode steps share the cache.
        cache = PreallocatedCache(2, 64)  # dtype of the first keys
        out = bf16.generate(images, [DataSample(metainfo=dict(question=p))
                                     for p in prompts],
                            max_new_tokens=4, min_new_tokens=4,
                            **{CACHE_KWARG: cache})
        assert out.shape == (2, 4)
        # The fp32 keys/values of the prompt pass were stored as bf16.
        assert cache.layers[0]._k.dtype == torch.bfloat16
    finally:
        for h in handles:
            h.remove()
