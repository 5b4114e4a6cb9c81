"""Checkpoint interop for LLaVA-1.5 and LLaVA-NeXT: the original v1.6
release layout converts; an export (tools/model_converters/mm_to_llava_hf.py)
is a directory transformers runs as it is, giving llava_mm's captions."""
import os.path as osp
import runpy
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image
from safetensors.torch import save_file

from llava_mm import get_model, inference_model
from llava_mm.converters.hf_processor import (
    llava_hf_tokenizer,
    save_llava_hf_processor,
)
from llava_mm.converters.to_llava_hf import export_llava_hf
from llava_mm.converters.to_mm import convert_llava_original
from test_parity_next import TEXT_ARCHS, TEXT_VOCAB, TILE, make_hf_llava_next
from tiny import tiny_anyres_pipeline, tiny_llava_next_model_cfg

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CAPTION = 'Provide a one-sentence caption for the provided image.'


def next_cfg(tokenizer_dir, arch='mistral'):
    return Config(dict(
        model=tiny_llava_next_model_cfg(tokenizer_dir, TEXT_VOCAB,
                                        img_size=TILE,
                                        text_overrides=TEXT_ARCHS[arch]),
        test_pipeline=tiny_anyres_pipeline(TILE)))


@pytest.fixture(scope='module')
def next_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp('next_conv')
    hf = make_hf_llava_next(str(root / 'hf'), 'mistral', seed=1)
    return root, hf


def original_layout(hf) -> dict:
    """The liuhaotian/llava-v1.6 names of a LlavaNext model's tensors."""
    out = {}
    for k, v in hf.state_dict().items():
        for old, new in (('model.language_model.', 'model.'),
                         ('model.multi_modal_projector.linear_1.',
                          'model.mm_projector.0.'),
                         ('model.multi_modal_projector.linear_2.',
                          'model.mm_projector.2.'),
                         ('model.vision_tower.',
                          'model.vision_tower.vision_tower.vision_model.')):
            if k.startswith(old):
                k = new + k[len(old):]
                break
        if k.endswith(('embed_tokens.weight', 'lm_head.weight')):
            v = v[:TEXT_VOCAB]  # the release has no <image>/<pad> rows
        out[k] = v.contiguous()
    return out


def test_original_v16_release_converts(next_dirs, tokenizer_dir):
    """A liuhaotian/llava-v1.6 layout dir (its own fine-tuned tower and
    image_newline) converts without a CLIP dir to the same weights as the
    llava-hf directory."""
    root, hf = next_dirs
    src = root / 'original'
    src.mkdir()
    save_file(original_layout(hf), str(src / 'model-00001.safetensors'))
    dst = root / 'from_original.pth'
    subprocess.run([sys.executable,
                    'tools/model_converters/llava_original_to_mm.py',
                    str(src), str(dst)], check=True, cwd=ROOT)
    cfg = next_cfg(tokenizer_dir)
    a = get_model(cfg, pretrained=str(dst), device='cpu').state_dict()
    b = get_model(cfg, pretrained=str(root / 'hf'),
                  device='cpu').state_dict()
    assert a.keys() == b.keys()
    assert 'model.lang_encoder.model.image_newline' in a
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # A v1.5 file holds no tower: the CLIP dir is then required.
    v15 = root / 'v15'
    v15.mkdir()
    save_file({k: v for k, v in original_layout(hf).items()
               if not k.startswith('model.vision_tower.')},
              str(v15 / 'model.safetensors'))
    with pytest.raises(KeyError, match='holds no vision tower'):
        convert_llava_original(str(v15))


def transformers_caption(out_dir, image, n=12, at_least=0):
    """Greedy caption from the exported dir, with transformers only."""
    from transformers import AutoModelForImageTextToText, AutoProcessor
    model, info = AutoModelForImageTextToText.from_pretrained(
        out_dir, output_loading_info=True)
    assert not info['missing_keys'] and not info['unexpected_keys'], info
    processor = AutoProcessor.from_pretrained(out_dir, backend='pil')
    messages = [{'role': 'user', 'content': [
        {'type': 'image'}, {'type': 'text', 'text': CAPTION}]}]
    text = processor.apply_chat_template(messages,
                                         add_generation_prompt=True)
    inputs = processor(images=image, text=text, return_tensors='pt')
    out = model.eval().generate(**inputs, max_new_tokens=n,
                                min_new_tokens=at_least, do_sample=False)
    return text, inputs, processor.batch_decode(
        out[:, inputs['input_ids'].shape[1]:],
        skip_special_tokens=True)[0], processor.image_token_id


def test_export_shipped_model_captions_in_transformers(tmp_path):
    """The shipped LLaVA-1.5 model, exported by the CLI, captions the demo
    image in transformers exactly as llava_mm does."""
    out = tmp_path / 'hf'
    subprocess.run([
        sys.executable, 'tools/model_converters/mm_to_llava_hf.py',
        'llava-tiny-shapes_caption',
        'checkpoints/llava-tiny-shapes/llava-tiny-shapes-a01aa8b8.pth',
        str(out)], check=True, cwd=ROOT)
    ours = get_model('llava-tiny-shapes_caption', device='cpu')
    demo = osp.join(ROOT, 'demo', 'shapes.png')
    text, inputs, caption, image_id = transformers_caption(
        str(out), Image.open(demo), n=20)
    # The chat template gives llava_mm's prompt, tokenised alike (BOS
    # first, the image's positions where <image> is).
    assert text == ours.format_prompt(CAPTION)
    ids = inputs['input_ids'][0].tolist()
    first = ids.index(image_id)
    assert ids.count(image_id) == ours.num_image_tokens()
    assert ids[:first] + [-200] + ids[first + ids.count(image_id):] == \
        ours.tokenize_prompt(text)
    expected = inference_model(ours, demo, max_new_tokens=20)
    assert caption.strip() == expected['pred_caption']
    assert 'red circle' in caption
    # Nothing is overwritten: a second export into the same dir refuses,
    # in one line.
    tool = osp.join(ROOT, 'tools', 'model_converters', 'mm_to_llava_hf.py')
    argv = ['llava-tiny-shapes_caption', 'ckpt.pth', str(out)]
    with pytest.raises(SystemExit, match=r'^error: .* is not empty'):
        runpy.run_path(tool)['main'](argv)


def test_export_llava_next_round_trip(next_dirs, tokenizer_dir, tmp_path):
    """llava-hf dir -> llava_mm -> exported dir: transformers' LLaVA-NeXT
    gives llava_mm's tokens on images of several grids, and the weights are
    the original ones (the unused last ViT block is written as zeros)."""
    root, hf = next_dirs
    cfg = next_cfg(tokenizer_dir)
    ours = get_model(cfg, pretrained=str(root / 'hf'), device='cpu')
    ckpt = str(tmp_path / 'ours.pth')
    torch.save(ours.state_dict(), ckpt)  # 2 of the 3 ViT blocks
    out = str(tmp_path / 'exported')
    tok = llava_hf_tokenizer(cfg)
    export_llava_hf(cfg, ckpt, out, token_ids=(
        tok.convert_tokens_to_ids('<image>'), tok.pad_token_id))
    save_llava_hf_processor(cfg, out, tok)

    from transformers import LlavaNextForConditionalGeneration
    again = LlavaNextForConditionalGeneration.from_pretrained(out)
    ref, new = hf.state_dict(), again.state_dict()
    last = 'model.vision_tower.encoder.layers.2.'
    for k, v in ref.items():
        if k.startswith(last):
            assert not new[k].any(), k
        elif k.endswith(('embed_tokens.weight', 'lm_head.weight')):
            assert torch.equal(new[k][:TEXT_VOCAB], v[:TEXT_VOCAB]), k
        else:
            assert torch.equal(new[k], v), k
    rng = np.random.default_rng(3)
    for h, w in [(50, 100), (120, 130), (12, 400)]:
        img = Image.fromarray(rng.integers(0, 255, (h, w, 3), np.uint8))
        _, _, caption, _ = transformers_caption(out, img, at_least=12)
        expected = inference_model(ours, img, max_new_tokens=12,
                                   min_new_tokens=12)['pred_caption']
        assert caption.strip() == expected, (h, w)
