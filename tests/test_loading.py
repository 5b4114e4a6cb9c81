"""Loading OpenMMLab-layout checkpoints: exact key layout, strict checks."""
import re

import pytest
import torch
from mmengine.config import Config

from llava_mm import init_model
from llava_mm.models import VisionTransformer
from tiny import tiny_llava_model_cfg, tiny_test_pipeline, tiny_vision_arch

VOCAB = 300
C, LAYERS = 32, 3  # tiny_vision_arch()

# NOTES §2: one vision layer of the released files, relative to the tower.
VISION_LAYER_KEYS = {
    'ln1.weight', 'ln1.bias', 'attn.qkv.weight', 'attn.qkv.bias',
    'attn.proj.weight', 'attn.proj.bias', 'ln2.weight', 'ln2.bias',
    'ffn.layers.0.0.weight', 'ffn.layers.0.0.bias', 'ffn.layers.1.weight',
    'ffn.layers.1.bias'
}
VISION_TOP_KEYS = {'cls_token', 'pos_embed', 'patch_embed.projection.weight',
                   'pre_norm.weight', 'pre_norm.bias'}


def _cfg(tokenizer_dir, **kw):
    return Config(dict(model=tiny_llava_model_cfg(tokenizer_dir, VOCAB, **kw),
                       test_pipeline=tiny_test_pipeline()))


@pytest.fixture(scope='module')
def openmmlab_pair(tmp_path_factory, tokenizer_dir):
    """A LLaVA file (LM + projector, no vision) and a full vision file with
    the `backbone.` prefix and all 3 blocks, as released."""
    root = tmp_path_factory.mktemp('ommlab')
    torch.manual_seed(0)
    model = init_model(_cfg(tokenizer_dir), device='cpu')
    llava = {k: v for k, v in model.state_dict().items()
             if not k.startswith('model.vision_tower.')}
    torch.save(llava, root / 'llava.pth')
    vit = VisionTransformer(arch=tiny_vision_arch(), img_size=28)
    vit.init_weights()
    vision = {'backbone.' + k: v for k, v in vit.state_dict().items()}
    vision['backbone.ln1.weight'] = torch.ones(C)  # unused final norm
    vision['backbone.ln1.bias'] = torch.zeros(C)
    torch.save({'state_dict': vision, 'meta': {}}, root / 'vit.pth')
    return root, llava, vit


def test_released_layout(openmmlab_pair):
    _, llava, vit = openmmlab_pair
    keys = set(vit.state_dict())
    layer_keys = {re.sub(r'^layers\.\d+\.', '', k) for k in keys
                  if k.startswith('layers.')}
    assert layer_keys == VISION_LAYER_KEYS
    assert keys - {k for k in keys if k.startswith('layers.')} \
        == VISION_TOP_KEYS
    sd = vit.state_dict()
    assert sd['cls_token'].shape == (1, 1, C)
    assert sd['pos_embed'].shape == (1, 1 + 4, C)
    assert sd['layers.0.attn.qkv.weight'].shape == (3 * C, C)
    assert sd['patch_embed.projection.weight'].shape == (C, 3, 14, 14)
    assert 'model.lang_encoder.model.mm_projector.0.weight' in llava
    assert 'model.lang_encoder.model.mm_projector.2.bias' in llava
    assert 'model.lang_encoder.lm_head.weight' in llava
    assert 'model.lang_encoder.model.layers.1.self_attn.q_proj.weight' \
        in llava
    assert not any('rotary_emb' in k for k in llava)


def test_pair_loads_exactly(openmmlab_pair, tokenizer_dir):
    root, llava, vit = openmmlab_pair
    cfg = _cfg(tokenizer_dir)
    cfg.model.vision_encoder.pretrained = str(root / 'vit.pth')
    model = init_model(cfg, str(root / 'llava.pth'), device='cpu')
    sd = model.state_dict()
    for k, v in llava.items():
        assert torch.equal(sd[k], v), k
    # select layer -2 of 3 blocks: blocks 0-1 are built and loaded.
    assert len(model.model.vision_tower.layers) == 2
    for k, v in vit.state_dict().items():
        if k.startswith('layers.2.'):
            assert 'model.vision_tower.' + k not in sd
        else:
            assert torch.equal(sd['model.vision_tower.' + k], v), k
    # The features equal the penultimate hidden state of the full tower.
    x = torch.randn(2, 3, 28, 28)
    with torch.no_grad():
        ref = vit.patch_embed(x)
        ref = torch.cat([vit.cls_token.expand(2, -1, -1), ref], 1)
        ref = vit.pre_norm(ref + vit.pos_embed)
        for layer in vit.layers[:2]:
            ref = layer(ref)
        got = model.model.vision_tower(x)
    torch.testing.assert_close(got, ref, rtol=0, atol=0)
    # No tensor is left on the meta device (rotary tables recomputed).
    assert not any(t.is_meta for t in list(model.parameters()) +
                   list(model.buffers()))


def test_dtype_and_no_prefix(openmmlab_pair, tokenizer_dir, tmp_path):
    root, _, vit = openmmlab_pair
    torch.save(vit.state_dict(), tmp_path / 'vit_noprefix.pth')
    cfg = _cfg(tokenizer_dir)
    cfg.model.vision_encoder.pretrained = str(tmp_path / 'vit_noprefix.pth')
    model = init_model(cfg, str(root / 'llava.pth'), device='cpu',
                       dtype='bf16')
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}


def test_wrong_shape_names_key(openmmlab_pair, tokenizer_dir, tmp_path):
    root, llava, _ = openmmlab_pair
    bad = dict(llava)
    key = 'model.lang_encoder.model.mm_projector.0.weight'
    bad[key] = torch.zeros(64, 48)
    torch.save(bad, tmp_path / 'bad.pth')
    cfg = _cfg(tokenizer_dir)
    cfg.model.vision_encoder.pretrained = str(root / 'vit.pth')
    with pytest.raises(ValueError) as e:
        init_model(cfg, str(tmp_path / 'bad.pth'), device='cpu')
    msg = str(e.value)
    assert key in msg and '(64, 48)' in msg and '(64, 32)' in msg


def test_missing_and_unexpected_keys(openmmlab_pair, tokenizer_dir,
                                     tmp_path):
    root, llava, _ = openmmlab_pair
    bad = dict(llava)
    bad.pop('model.lang_encoder.model.norm.weight')
    bad['model.lang_encoder.extra.weight'] = torch.zeros(1)
    torch.save(bad, tmp_path / 'bad.pth')
    cfg = _cfg(tokenizer_dir)
    cfg.model.vision_encoder.pretrained = str(root / 'vit.pth')
    with pytest.raises(KeyError, match='norm.weight.*extra.weight'):
        init_model(cfg, str(tmp_path / 'bad.pth'), device='cpu')
    # A LLaVA file without vision keys and no vision file named.
    with pytest.raises(KeyError, match='vision_encoder.pretrained'):
        init_model(_cfg(tokenizer_dir), str(root / 'llava.pth'),
                   device='cpu')
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        init_model(cfg, str(tmp_path / 'nope.pth'), device='cpu')
