"""The preallocated KV cache gives the same outputs as DynamicCache."""
import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM, DynamicCache
from transformers.cache_utils import DynamicLayer

from llava_mm.generation.kv_cache import (
    CACHE_KWARG,
    PreallocatedCache,
    cache_prompt,
    prefill_each,
)
from tiny import tiny_text_config


@pytest.fixture(scope='module')
def lm():
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(
        AutoConfig.for_model(**tiny_text_config(300)),
        attn_implementation='sdpa').eval()
    with torch.no_grad():
        model.lm_head.weight.mul_(30)  # clear argmax margins
    return model


def _inputs():
    ids = torch.randint(3, 300, (2, 12), generator=torch.Generator()
                        .manual_seed(0))
    mask = torch.ones_like(ids)
    mask[1, :4] = 0  # left padding
    return ids, mask


@pytest.mark.parametrize('capacity', [12 + 10, 5])  # exact, and too small
def test_same_greedy_tokens_and_scores(lm, capacity):
    ids, mask = _inputs()
    kw = dict(input_ids=ids, attention_mask=mask, max_new_tokens=10,
              min_new_tokens=10, do_sample=False, pad_token_id=0,
              output_scores=True, return_dict_in_generate=True)
    ref = lm.generate(**{CACHE_KWARG: DynamicCache()}, **kw)
    cache = PreallocatedCache(lm.config.num_hidden_layers, capacity)
    out = lm.generate(**{CACHE_KWARG: cache}, **kw)
    assert torch.equal(out.sequences, ref.sequences)
    for a, b in zip(out.scores, ref.scores):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5)
    layer = cache.layers[0]
    assert layer.keys.shape[-2] == 12 + 9  # the last token is not cached
    # The keys are views of one buffer, not fresh copies; with enough
    # capacity it is the cache's single shared buffer.
    assert layer.keys.data_ptr() == layer._k.data_ptr()
    assert layer._k.shape[-2] >= 21
    assert (cache._store is not None
            and layer._k.data_ptr() == cache._store.data_ptr()) == \
        (capacity >= 21)


def test_stores_another_dtype(lm):
    """A bf16 cache under an fp32 model keeps bf16, returns fp32."""
    cache = PreallocatedCache(lm.config.num_hidden_layers, 16,
                              dtype=torch.bfloat16)
    k = torch.randn(1, 4, 3, 16)
    keys, values = cache.update(k, k + 1, 0)
    assert keys.dtype == torch.float32 and keys.shape == (1, 4, 3, 16)
    assert torch.equal(keys, k.bfloat16().float())
    assert cache.layers[0]._k.dtype == torch.bfloat16


def test_beam_search_rehomes(lm):
    ids, mask = _inputs()
    kw = dict(input_ids=ids, attention_mask=mask, max_new_tokens=6,
              num_beams=3, do_sample=False, pad_token_id=0)
    ref = lm.generate(**kw)
    cache = PreallocatedCache(lm.config.num_hidden_layers, 18)
    out = lm.generate(**{CACHE_KWARG: cache}, **kw)
    assert torch.equal(out, ref)


def test_prefill_each_equals_the_batched_pass(lm):
    """Per-sample prompt passes fill the cache as one padded pass would:
    same tokens and scores, the padding zeroed, not uninitialised."""
    ids, mask = _inputs()
    embeds = lm.get_input_embeddings()(ids).detach()
    kw = dict(inputs_embeds=embeds, attention_mask=mask, max_new_tokens=10,
              min_new_tokens=10, do_sample=False, pad_token_id=0,
              output_scores=True, return_dict_in_generate=True)
    ref = lm.generate(**{CACHE_KWARG: DynamicCache()}, **kw)
    cache = PreallocatedCache(lm.config.num_hidden_layers, 12 + 10)
    # A buffer full of NaN: the padding must be overwritten, not left.
    H = lm.config.num_key_value_heads
    D = lm.config.hidden_size // lm.config.num_attention_heads
    cache.buffers(0, torch.empty(2, H, 0, D))
    cache._store.fill_(float('nan'))
    with torch.no_grad():
        prefill_each(lm.get_decoder(), embeds, mask, cache)
    assert cache.get_seq_length() == 11  # all but the last prompt position
    assert torch.equal(cache.layers[0].keys[1, :, :4],
                       torch.zeros_like(cache.layers[0].keys[1, :, :4]))
    out = lm.generate(**{CACHE_KWARG: cache}, **kw)
    assert torch.equal(out.sequences, ref.sequences)
    for a, b in zip(out.scores, ref.scores):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match='two prompt positions'):
        prefill_each(lm.get_decoder(), embeds[:, -1:], mask[:, -1:],
                     PreallocatedCache(lm.config.num_hidden_layers, 4))


def test_prefill_each_batch_of_one(lm, monkeypatch):
    """One unpadded sample is cached straight into the shared buffer (no
    per-sample cache copied in)."""
    ids, mask = _inputs()
    embeds = lm.get_input_embeddings()(ids[:1]).detach()
    kw = dict(inputs_embeds=embeds, attention_mask=mask[:1],
              max_new_tokens=10, min_new_tokens=10, do_sample=False,
              pad_token_id=0, output_scores=True,
              return_dict_in_generate=True)
    ref = lm.generate(**{CACHE_KWARG: DynamicCache()}, **kw)
    cache = PreallocatedCache(lm.config.num_hidden_layers, 12 + 10)

    def no_copy(*args):
        raise AssertionError('write_row used for a batch of one')

    monkeypatch.setattr(cache, 'write_row', no_copy)
    with torch.no_grad():
        prefill_each(lm.get_decoder(), embeds, mask[:1], cache)
    assert cache.get_seq_length() == 11
    out = lm.generate(**{CACHE_KWARG: cache}, **kw)
    assert torch.equal(out.sequences, ref.sequences)
    for a, b in zip(out.scores, ref.scores):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5)


@pytest.mark.parametrize('kv_heads', [4, 2])  # multi-head and grouped
@pytest.mark.parametrize('attn', ['sdpa', 'eager', 'llava_mm_sdpa'])
def test_cache_prompt_equals_the_decoder_pass(kv_heads, attn):
    """The prompt pass that skips the last layer's unread work caches the
    same keys and values as the decoder's full forward."""
    import llava_mm.models  # noqa: F401  (registers llava_mm_sdpa)
    torch.manual_seed(0)
    cfg = tiny_text_config(300, num_key_value_heads=kv_heads,
                           num_hidden_layers=3)
    decoder = AutoModelForCausalLM.from_config(
        AutoConfig.for_model(**cfg), attn_implementation=attn).eval().model
    embeds = torch.randn(1, 9, cfg['hidden_size'])
    ref, ours = DynamicCache(), DynamicCache()
    with torch.no_grad():
        decoder(inputs_embeds=embeds, **{CACHE_KWARG: ref}, use_cache=True)
        cache_prompt(decoder, embeds, ours)
    assert len(ours.layers) == len(ref.layers) == 3
    for a, b in zip(ours.layers, ref.layers):
        assert a.keys.shape == (1, kv_heads, 9, b.keys.shape[-1])
        assert torch.equal(a.keys, b.keys)
        assert torch.equal(a.values, b.values)


def test_the_dynamic_layer_internals_it_relies_on():
    """start_layer/show_filled are the one use of DynamicLayer internals:
    lazy_initialization marks the layer initialised, and the layer reads
    its length and reorders beams through ``keys``/``values``. Fails if
    transformers changes that."""
    from llava_mm.generation.kv_cache import start_layer
    layer = DynamicLayer()
    assert not layer.is_initialized
    like = torch.zeros(2, 3, 0, 4, dtype=torch.bfloat16)
    start_layer(layer, like)
    assert layer.is_initialized and layer.device == like.device
    keys = torch.arange(2 * 3 * 5 * 4.).view(2, 3, 5, 4)
    layer.keys, layer.values = keys, -keys
    assert layer.get_seq_length() == 5
    layer.reorder_cache(torch.tensor([1, 1]))
    assert torch.equal(layer.keys[0], keys[1])
    assert torch.equal(layer.values[1], -keys[1])
