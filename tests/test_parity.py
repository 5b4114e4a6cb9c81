"""Our model equals transformers' LlavaForConditionalGeneration on the same
weights (converted with tools/model_converters/llava_hf_to_mm.py)."""
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmpretrain.structures import DataSample
from PIL import Image

from llava_mm import get_model
from llava_mm.apis.base_inferencer import build_test_pipeline
from llava_mm.converters.to_llava_hf import llava_hf_input_ids
from llava_mm.generation.engine import attach_engine
from llava_mm.generation.kv_cache import skips_last_layer
from tiny import tiny_llava_model_cfg, tiny_test_pipeline, tiny_text_config

TEXT_VOCAB = 300
IMAGE_TOKEN_ID = 300  # llava-hf puts <image> right after the text vocab
HF_VOCAB = 320  # padded, as llava-hf pads to a multiple of 64
IMG = 28
N_PATCHES = (IMG // 14)**2


# The language models of the parity runs: LLaMA (LLaVA's own) and a
# variant with another architecture (Qwen2: q/k/v biases, grouped-query
# attention), which transformers' LLaVA accepts as well.
TEXT_ARCHS = {'llama': {},
              'qwen2': dict(model_type='qwen2', num_key_value_heads=2)}


def make_hf_llava(out_dir: str, seed: int = 0, arch: str = 'llama'):
    """A random tiny LlavaForConditionalGeneration saved in llava-hf
    layout, with the language model ``arch`` of :data:`TEXT_ARCHS`."""
    from transformers import (
        AutoConfig,
        CLIPVisionConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
    )
    torch.manual_seed(seed)
    text = tiny_text_config(HF_VOCAB, **TEXT_ARCHS[arch])
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(
            hidden_size=32, intermediate_size=64, num_hidden_layers=3,
            num_attention_heads=4, image_size=IMG, patch_size=14,
            hidden_act='quick_gelu', layer_norm_eps=1e-5, projection_dim=32),
        text_config=AutoConfig.for_model(**text),
        image_token_id=IMAGE_TOKEN_ID,
        vision_feature_layer=-2,
        vision_feature_select_strategy='default',
        projector_hidden_act='gelu')
    model = LlavaForConditionalGeneration(config).eval()
    # Sharpen the output distribution so greedy decoding is decided by
    # margins far above float noise.
    with torch.no_grad():
        model.lm_head.weight.mul_(30)
    model.save_pretrained(out_dir)
    return model


@pytest.fixture(scope='module', params=sorted(TEXT_ARCHS))
def hf_and_ours(request, tmp_path_factory, tokenizer_dir):
    arch = request.param
    root = tmp_path_factory.mktemp('parity')
    hf = make_hf_llava(str(root / 'hf'), arch=arch)
    ckpt = str(root / 'llava_tiny.pth')
    subprocess.run([
        sys.executable, 'tools/model_converters/llava_hf_to_mm.py',
        str(root / 'hf'), ckpt
    ], check=True)
    cfg = Config(dict(model=tiny_llava_model_cfg(
        tokenizer_dir, TEXT_VOCAB, img_size=IMG,
        text_overrides=TEXT_ARCHS[arch]),
                      test_pipeline=tiny_test_pipeline(IMG)))
    ours = get_model(cfg, pretrained=ckpt, device='cpu', dtype='fp32')
    return hf, ours


def _batch(model, questions):
    rng = np.random.default_rng(0)
    sizes = [(40, 30), (25, 50)]
    pipeline = build_test_pipeline(model.cfg)
    packed = []
    for (h, w), q in zip(sizes, questions):
        img = Image.fromarray(rng.integers(0, 255, (h, w, 3), np.uint8))
        item = pipeline(dict(img=img))
        item['data_samples'] = DataSample(metainfo=dict(question=q))
        packed.append(item)
    return model.data_preprocessor(pseudo_collate(packed), False)


def _hf_inputs(model, data_samples, pad_id=0):
    """The same prompts as llava-hf input ids: <image> expanded, left pad."""
    return llava_hf_input_ids(model, [s.question for s in data_samples],
                              N_PATCHES, IMAGE_TOKEN_ID, pad_id)


QUESTIONS = ['Provide a one-sentence caption for the provided image.',
             'What is in the image? Answer with one word please.']


def test_logits_match(hf_and_ours):
    hf, ours = hf_and_ours
    batch = _batch(ours, QUESTIONS)
    logits = ours(batch['images'], batch['data_samples'], mode='tensor')
    input_ids, mask = _hf_inputs(ours, batch['data_samples'])
    assert logits.shape[:2] == input_ids.shape  # same sequence layout
    with torch.no_grad():
        ref = hf(input_ids=input_ids, attention_mask=mask,
                 pixel_values=batch['images'],
                 position_ids=(mask.cumsum(-1) - 1).clamp(min=0)).logits
    valid = mask.bool()
    assert logits.shape[-1] == TEXT_VOCAB
    diff = (logits[valid] - ref[valid][:, :TEXT_VOCAB]).abs().max().item()
    assert diff < 1e-4, diff


ENGINES = dict(
    eager='eager',
    preallocated_batched=dict(cache='preallocated', prefill='batched'),
    preallocated_each=dict(cache='preallocated', prefill='each'),
    static=dict(cache='static', compile=False),
    compiled=dict(compile=True))


@pytest.mark.parametrize('engine', ENGINES.values(), ids=ENGINES.keys())
def test_greedy_generation_matches(hf_and_ours, engine):
    """Every cache and prompt pass of the engine (one batched pass with
    the padding masked, or sample by sample) gives transformers' tokens on
    a padded batch."""
    hf, ours = hf_and_ours
    batch = _batch(ours, QUESTIONS)
    n = 24
    before = ours.engine
    attach_engine(ours, engine)
    try:
        mine = ours.generate(batch['images'], batch['data_samples'],
                             max_new_tokens=n, min_new_tokens=n)
    finally:
        ours.engine = before
    input_ids, mask = _hf_inputs(ours, batch['data_samples'])
    with torch.no_grad():
        ref = hf.generate(
            input_ids=input_ids, attention_mask=mask,
            pixel_values=batch['images'], max_new_tokens=n,
            min_new_tokens=n, do_sample=False, eos_token_id=2,
            pad_token_id=0,
            suppress_tokens=list(range(TEXT_VOCAB, HF_VOCAB)))
    ref = ref[:, input_ids.shape[1]:]
    assert mine.shape == (2, n)
    assert torch.equal(mine, ref), (mine, ref)
    # Not a degenerate output (one token repeated), so equality means much.
    assert len(set(mine.flatten().tolist())) > 4


def test_prompt_pass_shortcut_only_for_llama(hf_and_ours):
    """The per-sample prompt pass skips the last layer's unread work only
    for transformers' LLaMA; the variant runs its decoder's own forward
    (and generation still matches transformers, above)."""
    hf, ours = hf_and_ours
    decoder = ours.lang_encoder.get_decoder()
    is_llama = hf.config.text_config.model_type == 'llama'
    assert type(decoder).__name__ == ('LlamaModel' if is_llama
                                      else 'Qwen2Model')
    assert skips_last_layer(decoder) is is_llama


def test_batch_equals_single(hf_and_ours):
    """A sample's output does not depend on the other prompts in its batch."""
    _, ours = hf_and_ours
    batch = _batch(ours, QUESTIONS)
    both = ours.generate(batch['images'], batch['data_samples'],
                         max_new_tokens=16, min_new_tokens=16)
    for i in range(2):
        alone = ours.generate(batch['images'][i:i + 1],
                              batch['data_samples'][i:i + 1],
                              max_new_tokens=16, min_new_tokens=16)
        assert torch.equal(alone[0], both[i])
    beams = ours.generate(batch['images'], batch['data_samples'],
                          max_new_tokens=8, num_beams=3)
    assert beams.shape[0] == 2
    # Beams from the LM's own generation config expand the batch too.
    ours.lang_encoder.generation_config.num_beams = 3
    try:
        assert torch.equal(ours.generate(batch['images'],
                                         batch['data_samples'],
                                         max_new_tokens=8), beams)
    finally:
        ours.lang_encoder.generation_config.num_beams = 1
