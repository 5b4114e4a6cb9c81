"""The generation engine: one ``engine`` setting, resolved per device at
load by init_model on every path, and each of its paths giving the eager
path's tokens."""
import ast
import glob
import os
import os.path as osp
import shutil

import pytest
import torch
from mmengine.config import Config

from llava_mm import get_model, inference_model, init_model
from llava_mm.generation import (
    GenerationStrategy,
    NonFiniteLogitsError,
    resolve_strategy,
)
from llava_mm.generation.engine import static_cache_len
from llava_mm.generation.kv_cache import skips_last_layer
from llava_mm.ops.cpu.features import cpu_features
from llava_mm.ops.cpu.gemv import GemvLinear
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
BF16, FP16 = torch.bfloat16, torch.float16


def _state(model) -> dict:
    return dict(
        gemv=sum(type(m) is GemvLinear for m in model.modules()),
        fp32_hooks=len(model._fp32_prefill_handles),
        attention=model.lang_encoder.config._attn_implementation)


def test_auto_choices_per_device_and_cpu_kind():
    amd = resolve_strategy('auto', 'cpu', BF16, features=AMD)
    assert amd == GenerationStrategy(
        cache='preallocated', compile=False, prefill='each', bf16_gemv=True,
        fp32_prefill=False, decode_attention=True)
    # AMX: transformers' batched bf16 prompt pass is as fast.
    amx = resolve_strategy('auto', 'cpu', BF16, features=INTEL_AMX)
    assert (amx.prefill, amx.bf16_gemv) == ('batched', True)
    # No bf16 units: fp32 prompt pass, no kernel; fp32 weights: neither.
    avx2 = resolve_strategy(None, 'cpu', BF16, features=AVX2)
    assert (avx2.fp32_prefill, avx2.bf16_gemv) == (True, False)
    fp32 = resolve_strategy('auto', 'cpu', torch.float32, features=AMD)
    assert (fp32.fp32_prefill, fp32.bf16_gemv) == (False, False)
    # GPUs: a static cache and a compiled decode step; no CPU kernels.
    cuda = resolve_strategy('auto', 'cuda', FP16)
    assert cuda == GenerationStrategy(cache='static', compile=True)
    # nf4 (bitsandbytes) and device_map spreads are not compiled.
    for kw in (dict(quantization='nf4'), dict(dispatched=True)):
        assert resolve_strategy('auto', 'cuda', FP16, **kw) == \
            GenerationStrategy(cache='dynamic', compile=False)
    assert resolve_strategy('auto', 'cuda', FP16, 'int8').compile is True
    # 'eager' is transformers' own path everywhere.
    assert resolve_strategy('eager', 'cpu', BF16, features=AMD) == \
        GenerationStrategy()
    # A dict overrides single choices; compile brings the static cache.
    one = resolve_strategy(dict(prefill='batched'), 'cpu', BF16,
                           features=AMD)
    assert one == GenerationStrategy(**{**amd.as_dict(),
                                        'prefill': 'batched'})
    # Not compiled on a GPU: transformers' growing cache, not the static one;
    # another cache asked for on a GPU: not compiled.
    assert resolve_strategy(dict(compile=False), 'cuda', FP16) == \
        GenerationStrategy(cache='dynamic', compile=False)
    for cache in ('dynamic', 'preallocated'):
        assert resolve_strategy(dict(cache=cache), 'cuda', FP16) == \
            GenerationStrategy(cache=cache, compile=False)
    comp = resolve_strategy(dict(compile=True), 'cpu', BF16, features=AMD)
    assert (comp.cache, comp.compile, comp.bf16_gemv) == ('static', True,
                                                          True)
    # CPU kernels asked for on a GPU do nothing there.
    assert resolve_strategy(dict(bf16_gemv=True), 'cuda',
                            BF16).bf16_gemv is False


@pytest.mark.parametrize('bad', [
    'fast', dict(gemv=True), dict(bf16_gemv='yes'), dict(cache='paged'),
    dict(compile=True, cache='dynamic'), dict(prefill='each-time')])
def test_bad_setting_is_refused(bad):
    with pytest.raises(ValueError, match='engine'):
        resolve_strategy(bad, 'cpu', BF16)


def test_static_cache_sizes_repeat():
    """Prompts of different lengths share a compiled step's shapes."""
    assert static_cache_len(100, 4096) == static_cache_len(250, 4096) == 256
    assert static_cache_len(257, 4096) == 512
    assert static_cache_len(1000, 600) == 600


def test_get_model_applies_the_setting():
    """get_model (so init_model, tools/test.py, the inferencers) switches
    the kernels, prompt passes and attention; the caption stays."""
    eager = get_model(NAME, device='cpu', dtype='bf16', engine='eager')
    assert _state(eager) == dict(gemv=0, fp32_hooks=0, attention='sdpa')
    assert eager.engine.describe() == GenerationStrategy().as_dict()
    plain = inference_model(eager, DEMO)['pred_caption']
    assert plain

    every = get_model(NAME, device='cpu', dtype='bf16', engine=dict(
        bf16_gemv=True, fp32_prefill=True, decode_attention=True,
        prefill='each'))
    state = _state(every)
    assert state['gemv'] == (len([m for m in every.modules()
                                  if isinstance(m, torch.nn.Linear)])
                             if KERNEL_HERE else 0)
    assert state['fp32_hooks'] > 0
    assert state['attention'] == 'llava_mm_sdpa'
    assert every.engine.describe()['bf16_gemv'] is KERNEL_HERE
    assert inference_model(every, DEMO)['pred_caption'] == plain

    auto = get_model(NAME, device='cpu', dtype='bf16')
    want = resolve_strategy('auto', 'cpu', BF16)
    assert auto.engine.strategy == want
    assert auto.engine.describe() == dict(
        want.as_dict(), bf16_gemv=want.bf16_gemv and KERNEL_HERE)
    assert (_state(auto)['gemv'] > 0) is auto.engine.kernels['bf16_gemv']
    assert inference_model(auto, DEMO)['pred_caption'] == plain


def test_config_field_and_runner_built_model():
    """A config's top-level ``engine`` is the default, init_model's
    argument overrides it, a bad one fails before loading, and a model
    built without init_model (a training Runner's) gets 'auto' without
    compiling and without kernels at its first generate."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'llava',
                                   f'{NAME}.py'))
    cfg.engine = 'eager'
    model = init_model(cfg, device='cpu', dtype='fp32')
    assert model.engine.strategy == GenerationStrategy()
    model = init_model(cfg, device='cpu', dtype='fp32',
                       engine=dict(decode_attention=True,
                                   fp32_prefill=True))
    assert model.engine.kernels == dict(
        bf16_gemv=False, fp32_prefill=False,  # fp32 weights
        decode_attention=True)
    assert _state(model)['attention'] == 'llava_mm_sdpa'
    cfg.engine = 'sometimes'
    with pytest.raises(ValueError, match='engine'):
        init_model(cfg, checkpoint='/no/such/file.pth')
    bare = MODELS.build(cfg.model)
    assert bare.engine is None
    bare.init_weights()
    bare.eval().generate(torch.zeros(1, 3, 64, 64), max_new_tokens=2)
    assert bare.engine.strategy.cache == 'preallocated'
    assert not any(bare.engine.kernels.values())


def test_compiled_decode_gives_the_eager_tokens():
    """The static cache with a compiled decode step (torch.compile through
    transformers' generate; CUDA graphs on GPUs) gives the eager path's
    greedy tokens on the shipped model, in a batch and one by one."""
    qs = ['What shape is the blue object?', 'How many shapes are there?',
          'What colour is the circle?']
    vqa = 'llava-tiny-shapes_vqa'
    eager = get_model(vqa, device='cpu', engine='eager')
    compiled = get_model(vqa, device='cpu', engine=dict(compile=True))
    assert compiled.engine.describe()['compile'] is True
    ref = inference_model(eager, [DEMO] * 3, qs)
    assert inference_model(compiled, [DEMO] * 3, qs) == ref
    assert [inference_model(compiled, DEMO, q) for q in qs] == ref
    # Captions: many compiled steps, on two different images.
    import numpy as np
    from PIL import Image
    flipped = np.asarray(Image.open(DEMO).convert('RGB'))[:, ::-1].copy()
    cap_eager = get_model(NAME, device='cpu', engine='eager')
    cap = get_model(NAME, device='cpu', engine=dict(compile=True))
    want = inference_model(cap_eager, [DEMO, flipped])
    assert inference_model(cap, [DEMO, flipped]) == want
    assert all(len(w['pred_caption'].split()) > 5 for w in want)


def test_non_finite_logits_raise_on_every_path():
    """The deferred check (no streamer) still raises before any text."""
    for engine in ('eager', 'auto', dict(cache='static', compile=False)):
        model = get_model(NAME, device='cpu', engine=engine)
        with torch.no_grad():
            model.lang_encoder.lm_head.weight[5] = float('nan')
        with pytest.raises(NonFiniteLogitsError, match='NaN/inf'):
            inference_model(model, DEMO)


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
           for f in ('benchmark.py', 'e2e_benchmark.py', 'engine_compare.py',
                     'next_7b_check.py',
                     'caption_batch_split.py', 'decode_step_parts.py')
           ] + glob.glob(
               osp.join(ROOT, 'tools', 'analysis_tools', 'llava_bench',
                        '*.py'))
# What the benchmark may take from llava_mm: the public API, the
# converters, the registry, constants, a config's prompt text, dtype names,
# tokenizer training and the CPU capability checks (for the report).
PUBLIC = {'llava_mm': {'init_model', 'get_model', 'inference_model'},
          'llava_mm.converters.to_llava_hf': {'export_llava_hf',
                                              'llava_hf_input_ids'},
          'llava_mm.registry': {'MODELS'},
          'llava_mm.constants': {'LM_PREFIX', 'VISION_PREFIX'},
          'llava_mm.conversation': {'model_prompt_templates'},
          'llava_mm.utils.dtypes': {'to_torch_dtype'},
          'llava_mm.utils.tokenizer': {'DEFAULT_CORPUS', 'train_tokenizer'},
          'llava_mm.ops.cpu': {'native_bf16_matmul'},
          'llava_mm.ops.cpu.features': {'cpu_features'}}


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
