"""The one ``cpu_speedups`` setting, applied by init_model on every path."""
import ast
import glob
import os
import os.path as osp
import shutil

import pytest
import torch
from mmengine.config import Config

from llava_mm import get_model, inference_model, init_model
from llava_mm.generation.kv_cache import skips_last_layer
from llava_mm.ops.cpu.gemv import GemvLinear
from llava_mm.ops.cpu.speedups import (SPEEDUPS, auto_choice, cpu_features,
                                       resolve)
from llava_mm.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(ROOT, 'demo', 'shapes.png')
NAME = 'llava-tiny-shapes_caption'
AMD = dict(amx_bf16=False, avx512_bf16=True, avx2=True, threads=2,
           capability='AVX512')
INTEL_AMX = dict(AMD, amx_bf16=True)
AVX2 = dict(AMD, avx512_bf16=False, capability='AVX2')
KERNEL_HERE = cpu_features()['avx512_bf16'] and bool(
    shutil.which(os.environ.get('CXX', 'c++')))


def _state(model) -> dict:
    return dict(
        gemv=sum(type(m) is GemvLinear for m in model.modules()),
        fp32_hooks=len(model._fp32_prefill_handles),
        attention=model.lang_encoder.config._attn_implementation,
        prefill_each=model.cpu_prefill_each)


def test_auto_choices_per_cpu_kind():
    assert auto_choice(AMD) == dict(bf16_gemv=True, fp32_prefill=False,
                                    decode_attention=True, prefill_each=True)
    # AMX: transformers' batched bf16 prompt pass is as fast.
    assert auto_choice(INTEL_AMX)['prefill_each'] is False
    assert auto_choice(INTEL_AMX)['bf16_gemv'] is True
    # No bf16 units: fp32 prompt pass, no kernel.
    assert auto_choice(AVX2) == dict(bf16_gemv=False, fp32_prefill=True,
                                     decode_attention=True,
                                     prefill_each=True)
    assert resolve('off', AMD) == dict.fromkeys(SPEEDUPS, False)
    assert resolve('on', AVX2) == dict.fromkeys(SPEEDUPS, True)
    assert resolve(dict(prefill_each=False), AMD) == dict(
        auto_choice(AMD), prefill_each=False)


@pytest.mark.parametrize('bad', ['fast', dict(gemv=True),
                                 dict(bf16_gemv='yes')])
def test_bad_setting_is_refused(bad):
    with pytest.raises(ValueError, match='cpu_speedups'):
        resolve(bad)


def test_get_model_applies_the_setting():
    """get_model (so init_model, tools/test.py, the inferencers) switches
    the kernels, prompt passes and attention; the caption stays."""
    off = get_model(NAME, device='cpu', dtype='bf16', cpu_speedups='off')
    assert _state(off) == dict(gemv=0, fp32_hooks=0, attention='sdpa',
                               prefill_each=False)
    assert off.cpu_speedups_applied == dict.fromkeys(SPEEDUPS, False)
    plain = inference_model(off, DEMO)['pred_caption']
    assert plain

    on = get_model(NAME, device='cpu', dtype='bf16', cpu_speedups='on')
    state = _state(on)
    assert state['gemv'] == (len([m for m in on.modules()
                                  if isinstance(m, torch.nn.Linear)])
                             if KERNEL_HERE else 0)
    assert state['fp32_hooks'] > 0
    assert state['attention'] == 'llava_mm_sdpa'
    assert state['prefill_each'] is True
    assert on.cpu_speedups_applied['bf16_gemv'] is KERNEL_HERE

    auto = get_model(NAME, device='cpu', dtype='bf16')
    want = auto_choice(cpu_features())
    assert auto.cpu_speedups_applied == dict(
        want, bf16_gemv=want['bf16_gemv'] and KERNEL_HERE)
    assert (_state(auto)['gemv'] > 0) is auto.cpu_speedups_applied[
        'bf16_gemv']
    assert inference_model(auto, DEMO)['pred_caption'] == plain


def test_fp32_model_and_config_field():
    """Speed-ups for bf16 weights stay off for an fp32 model; the config
    field is the default and a dict overrides single speed-ups."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'llava',
                                   f'{NAME}.py'))
    cfg.model.cpu_speedups = 'off'
    model = init_model(cfg, device='cpu', dtype='fp32')
    assert model.cpu_speedups_applied == dict.fromkeys(SPEEDUPS, False)
    model = init_model(cfg, device='cpu', dtype='fp32',
                       cpu_speedups=dict(decode_attention=True,
                                         fp32_prefill=True))
    assert model.cpu_speedups_applied['decode_attention'] is True
    assert model.cpu_speedups_applied['fp32_prefill'] is False  # fp32
    assert model.cpu_speedups_applied['bf16_gemv'] is False
    assert _state(model)['attention'] == 'llava_mm_sdpa'
    with pytest.raises(ValueError, match='cpu_speedups'):
        MODELS.build({**cfg.model, 'cpu_speedups': 'sometimes'})
    # A model built without init_model (a training Runner's) resolves the
    # per-sample prompt pass from its config field when it generates.
    bare = MODELS.build(cfg.model)
    assert bare.cpu_prefill_each is None
    assert bare._cpu_prefill_each() is False  # cfg says 'off'
    bare = MODELS.build({**cfg.model, 'cpu_speedups': 'auto'})
    assert bare._cpu_prefill_each() is auto_choice(
        cpu_features())['prefill_each']


def test_qwen2_variant_config_builds(tokenizer_dir):
    """configs/llava/llava-qwen2-0.5b_caption.py: another LM in a few
    lines; the prompt-pass shortcut is not used for it."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'llava',
                                   'llava-qwen2-0.5b_caption.py'))
    cfg.model.tokenizer.name_or_path = tokenizer_dir
    with torch.device('meta'):
        model = MODELS.build(cfg.model)
    decoder = model.lang_encoder.get_decoder()
    assert type(model.lang_encoder).__name__ == 'Qwen2ForCausalLM'
    assert len(decoder.layers) == 24
    assert model.projector[0].weight.shape == (896, 1024)
    assert not skips_last_layer(decoder)


HARNESS = [osp.join(ROOT, 'tools', 'analysis_tools', f)
           for f in ('benchmark.py', 'e2e_benchmark.py',
                     'caption_batch_split.py', 'decode_step_parts.py')
           ] + glob.glob(
               osp.join(ROOT, 'tools', 'analysis_tools', 'llava_bench',
                        '*.py'))
# What the benchmark may take from llava_mm: the public API, the
# converters, the registry, constants, dtype names, tokenizer training and
# the CPU capability checks (for the report).
PUBLIC = {'llava_mm': {'init_model', 'get_model'},
          'llava_mm.converters.to_llava_hf': {'export_llava_hf',
                                              'llava_hf_input_ids'},
          'llava_mm.registry': {'MODELS'},
          'llava_mm.constants': {'LM_PREFIX', 'VISION_PREFIX'},
          'llava_mm.utils.dtypes': {'to_torch_dtype'},
          'llava_mm.utils.tokenizer': {'DEFAULT_CORPUS', 'train_tokenizer'},
          'llava_mm.ops.cpu': {'native_bf16_matmul'},
          'llava_mm.ops.cpu.speedups': {'cpu_features'}}


@pytest.mark.parametrize('path', HARNESS, ids=osp.basename)
def test_benchmark_uses_only_the_public_path(path):
    """"Ours" in the benchmark is what init_model gives: the harness
    imports nothing that switches a speed-up itself."""
    tree = ast.parse(open(path).read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert not any(a.name.startswith('llava_mm') for a in
                           node.names), ast.dump(node)
        if isinstance(node, ast.ImportFrom) and node.module and \
                node.module.startswith('llava_mm'):
            names = {a.name for a in node.names}
            assert names <= PUBLIC.get(node.module, set()), (
                node.module, names)
        if isinstance(node, ast.Attribute):
            assert node.attr not in ('prefill', 'cpu_prefill_each',
                                     'set_attn_implementation'), path
