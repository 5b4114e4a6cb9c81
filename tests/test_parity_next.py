"""LLaVA-NeXT (anyres) equals transformers' LlavaNextForConditionalGeneration
on the same weights: a llava-hf directory given as ``pretrained``, images of
every grid of the pinpoints, a very wide one and a tiny one, in one batch."""
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from PIL import Image

from llava_mm import get_model
from llava_mm.apis.base_inferencer import build_test_pipeline
from llava_mm.converters.to_llava_hf import llava_hf_input_ids
from tiny import (
    tiny_anyres_pipeline,
    tiny_llava_next_model_cfg,
    tiny_pinpoints,
    tiny_text_config,
)

TEXT_VOCAB = 300
IMAGE_TOKEN_ID = 300
HF_VOCAB = 320
TILE = 56  # the tower's input: 4x4 patches of 14 per tile
# (H, W) of the test images and the grid (rows, cols) each is tiled on.
SIZES = {(50, 100): (1, 2), (100, 50): (2, 1), (120, 130): (2, 2),
         (30, 170): (1, 3), (170, 30): (3, 1),
         (12, 400): (1, 3),  # very wide: most tile rows are padding
         (5, 7): (1, 2)}  # tiny: upscaled
TEXT_ARCHS = {'llama': {},
              'mistral': dict(model_type='mistral', num_key_value_heads=2,
                              sliding_window=None)}
QUESTIONS = ['Provide a one-sentence caption for the provided image.',
             'What is in the image? Answer with one word please.']


def make_hf_llava_next(out_dir: str, arch: str, seed: int = 0):
    """A random tiny LlavaNextForConditionalGeneration saved to a dir."""
    from transformers import (
        AutoConfig,
        CLIPVisionConfig,
        LlavaNextConfig,
        LlavaNextForConditionalGeneration,
    )
    torch.manual_seed(seed)
    config = LlavaNextConfig(
        vision_config=CLIPVisionConfig(
            hidden_size=32, intermediate_size=64, num_hidden_layers=3,
            num_attention_heads=4, image_size=TILE, patch_size=14,
            hidden_act='quick_gelu', layer_norm_eps=1e-5, projection_dim=32),
        text_config=AutoConfig.for_model(
            **tiny_text_config(HF_VOCAB, **TEXT_ARCHS[arch])),
        image_token_id=IMAGE_TOKEN_ID, image_grid_pinpoints=tiny_pinpoints(
            TILE),
        vision_feature_layer=-2, vision_feature_select_strategy='default',
        projector_hidden_act='gelu')
    model = LlavaNextForConditionalGeneration(config).eval()
    with torch.no_grad():  # greedy margins far above float noise
        model.lm_head.weight.mul_(30)
        model.model.image_newline.mul_(10)  # make the newline matter
    model.save_pretrained(out_dir)
    return model


@pytest.fixture(scope='module', params=sorted(TEXT_ARCHS))
def hf_and_ours(request, tmp_path_factory, tokenizer_dir):
    arch = request.param
    hf_dir = str(tmp_path_factory.mktemp('next') / 'hf')
    hf = make_hf_llava_next(hf_dir, arch)
    cfg = Config(dict(
        model=tiny_llava_next_model_cfg(tokenizer_dir, TEXT_VOCAB,
                                        img_size=TILE,
                                        text_overrides=TEXT_ARCHS[arch]),
        test_pipeline=tiny_anyres_pipeline(TILE)))
    # The llava-hf directory itself, converted in memory.
    ours = get_model(cfg, pretrained=hf_dir, device='cpu', dtype='fp32')
    return hf, ours


def random_images(sizes=SIZES):
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 255, (h, w, 3), np.uint8))
            for h, w in sizes]


def make_batch(model, images, questions):
    pipeline = build_test_pipeline(model.cfg)
    packed = []
    for img, q in zip(images, questions):
        item = pipeline(dict(img=img))
        item['data_samples'].set_field(q, 'question', field_type='metainfo')
        packed.append(item)
    return model.data_preprocessor(pseudo_collate(packed), False)


def hf_inputs(model, batch):
    samples = batch['data_samples']
    counts = [model.num_image_tokens(s.image_size) for s in samples]
    input_ids, mask = llava_hf_input_ids(
        model, [s.question for s in samples], counts, IMAGE_TOKEN_ID, 0)
    return dict(input_ids=input_ids, attention_mask=mask,
                pixel_values=batch['images'],
                image_sizes=torch.tensor([s.image_size for s in samples]))


def batch_of_all(model):
    questions = [QUESTIONS[i % 2] for i in range(len(SIZES))]
    return make_batch(model, random_images(), questions)


def test_grids_cover_every_pinpoint(hf_and_ours):
    _, ours = hf_and_ours
    for size, grid in SIZES.items():
        assert ours.anyres.grid(size) == grid, size
    assert {(r * TILE, c * TILE) for r, c in SIZES.values()} == {
        tuple(p) for p in tiny_pinpoints(TILE)}


def test_pipeline_matches_transformers_image_processor(hf_and_ours):
    """Tiles, their order and the base view equal LlavaNextImageProcessor's
    (PIL backend, as the official LLaVA), after normalisation."""
    from transformers import LlavaNextImageProcessorPil
    _, ours = hf_and_ours
    proc = LlavaNextImageProcessorPil(
        size={'shortest_edge': TILE},
        crop_size={'height': TILE, 'width': TILE},
        image_grid_pinpoints=tiny_pinpoints(TILE))
    images = random_images()
    batch = make_batch(ours, images, [None] * len(images))
    ref = proc(images, return_tensors='pt')
    assert ref['pixel_values'].shape == batch['images'].shape
    assert ref['image_sizes'].tolist() == [
        list(s.image_size) for s in batch['data_samples']]
    diff = (ref['pixel_values'] - batch['images']).abs().max().item()
    assert diff < 1e-5, diff


def test_logits_match(hf_and_ours):
    hf, ours = hf_and_ours
    batch = batch_of_all(ours)
    logits = ours(batch['images'], batch['data_samples'], mode='tensor')
    inputs = hf_inputs(ours, batch)
    mask = inputs['attention_mask']
    assert logits.shape[:2] == mask.shape  # same image-token counts
    with torch.no_grad():
        ref = hf(**inputs,
                 position_ids=(mask.cumsum(-1) - 1).clamp(min=0)).logits
    valid = mask.bool()
    diff = (logits[valid] - ref[valid][:, :TEXT_VOCAB]).abs().max().item()
    assert diff < 1e-4, diff


@pytest.mark.parametrize('prefill', ['batched', 'each'])
def test_greedy_generation_matches(hf_and_ours, prefill):
    hf, ours = hf_and_ours
    batch = batch_of_all(ours)
    n = 12
    ours.prefill = prefill
    try:
        mine = ours.generate(batch['images'], batch['data_samples'],
                             max_new_tokens=n, min_new_tokens=n)
    finally:
        ours.prefill = 'auto'
    inputs = hf_inputs(ours, batch)
    with torch.no_grad():
        ref = hf.generate(**inputs, max_new_tokens=n, min_new_tokens=n,
                          do_sample=False, eos_token_id=2, pad_token_id=0,
                          suppress_tokens=list(range(TEXT_VOCAB, HF_VOCAB)))
    ref = ref[:, inputs['input_ids'].shape[1]:]
    assert mine.shape == (len(SIZES), n)
    assert torch.equal(mine, ref), (mine, ref)
    assert len(set(mine.flatten().tolist())) > 4


def test_batch_equals_single(hf_and_ours):
    """Images of different grids share a batch (zero tiles pad it, prompts
    are left-padded); each one's tokens are those it gets alone."""
    _, ours = hf_and_ours
    batch = batch_of_all(ours)
    both = ours.generate(batch['images'], batch['data_samples'],
                         max_new_tokens=8, min_new_tokens=8)
    images = random_images()
    for i, size in enumerate(SIZES):
        alone = make_batch(ours, images[i:i + 1], [QUESTIONS[i % 2]])
        assert alone['images'].shape[1] == 1 + np.prod(SIZES[size])
        out = ours.generate(alone['images'], alone['data_samples'],
                            max_new_tokens=8, min_new_tokens=8)
        assert torch.equal(out[0], both[i]), size


def test_image_token_counts_match_transformers_processor(tokenizer):
    """The prompt positions of an image of any size, as LlavaNextProcessor
    counts them, at the real size (336 tiles, LLaVA-1.6's pinpoints)."""
    from transformers import LlavaNextImageProcessorPil, LlavaNextProcessor

    from llava_mm.models.anyres import AnyRes
    pinpoints = [[336, 672], [672, 336], [672, 672], [1008, 336],
                 [336, 1008]]
    proc = LlavaNextProcessor(
        LlavaNextImageProcessorPil(image_grid_pinpoints=pinpoints,
                                   size={'shortest_edge': 336},
                                   crop_size={'height': 336, 'width': 336}),
        tokenizer, patch_size=14, vision_feature_select_strategy='default',
        num_additional_image_tokens=1)  # CLS, dropped: as llava-hf's
    anyres = AnyRes(pinpoints, 336, 14)
    rng = np.random.default_rng(0)
    sizes = [(336, 336), (672, 672), (480, 640), (640, 480), (1, 1000),
             (1000, 1), (2000, 3000)] + [
                 tuple(int(v) for v in rng.integers(1, 2500, 2))
                 for _ in range(200)]
    for h, w in sizes:
        expected = proc._get_number_of_features(h, w, 336, 336) - 1
        assert anyres.num_tokens((h, w)) == expected, (h, w)
    assert anyres.num_tokens((672, 672)) == 576 + 48 * 49


def test_pipeline_and_model_must_agree(hf_and_ours, tokenizer_dir):
    """Tiles without their image_size, or given to a one-image model, are
    refused with what to change."""
    from llava_mm.registry import MODELS
    from tiny import tiny_llava_model_cfg
    _, ours = hf_and_ours
    batch = batch_of_all(ours)
    for s in batch['data_samples']:
        del s.image_size
    with pytest.raises(ValueError, match='"image_size" to the meta_keys'):
        ours(batch['images'], batch['data_samples'], mode='tensor')
    plain = MODELS.build(tiny_llava_model_cfg(tokenizer_dir, TEXT_VOCAB,
                                              img_size=TILE))
    with pytest.raises(ValueError, match='image_aspect_ratio="anyres"'):
        plain(batch['images'], batch['data_samples'], mode='tensor')
