"""tools/model_converters/llava_original_to_mm.py on a tiny original-layout
LLaVA directory plus a transformers CLIP directory."""
import subprocess
import sys

import torch
from mmengine.config import Config

from llava_mm import get_model
from tiny import tiny_llava_model_cfg, tiny_test_pipeline, tiny_text_config

VOCAB = 300


def test_original_llava_converts(tmp_path, tokenizer_dir):
    from transformers import (
        CLIPVisionConfig,
        CLIPVisionModel,
        LlamaConfig,
        LlamaForCausalLM,
    )
    torch.manual_seed(0)
    text = tiny_text_config(VOCAB)
    text.pop('model_type')
    lm = LlamaForCausalLM(LlamaConfig(**text))
    state = dict(lm.state_dict())
    # liuhaotian/llava-v1.5: projector inside LlamaModel, Linear-GELU-Linear.
    state['model.mm_projector.0.weight'] = torch.randn(64, 32)
    state['model.mm_projector.0.bias'] = torch.randn(64)
    state['model.mm_projector.2.weight'] = torch.randn(64, 64)
    state['model.mm_projector.2.bias'] = torch.randn(64)
    (tmp_path / 'llava').mkdir()
    torch.save(state, tmp_path / 'llava' / 'pytorch_model-00001-of-00001.bin')
    clip = CLIPVisionModel(CLIPVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=3,
        num_attention_heads=4, image_size=28, patch_size=14,
        hidden_act='quick_gelu')).eval()
    clip.save_pretrained(tmp_path / 'clip')
    dst = tmp_path / 'out.pth'
    subprocess.run([
        sys.executable, 'tools/model_converters/llava_original_to_mm.py',
        str(tmp_path / 'llava'), str(tmp_path / 'clip'), str(dst)
    ], check=True)

    cfg = Config(dict(model=tiny_llava_model_cfg(tokenizer_dir, VOCAB),
                      test_pipeline=tiny_test_pipeline()))
    model = get_model(cfg, pretrained=str(dst), device='cpu')
    sd = model.state_dict()
    for k, v in state.items():
        assert torch.equal(sd['model.lang_encoder.' + k], v), k
    x = torch.randn(2, 3, 28, 28)
    with torch.no_grad():
        ref = clip(pixel_values=x, output_hidden_states=True)
        ours = model.model.vision_tower(x)
    torch.testing.assert_close(ours, ref.hidden_states[-2], rtol=1e-5,
                               atol=1e-5)
