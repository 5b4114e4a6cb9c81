"""Start-up: what ``import llava_mm`` and the README commands import and
print, and failing fast (local paths, an unreachable hub, no display, no
test data)."""
import ast
import enum
import importlib
import importlib.util
import json
import logging
import os
import os.path as osp
import re
import subprocess
import sys
import time

import pytest
from mmengine.config import Config

from llava_mm import get_model, init_model
from llava_mm.utils import WeightsUnavailableError, third_party
from llava_mm.utils.errors import cli_wording

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# What captioning one image must not import.
HEAVY = ['mmpretrain.datasets', 'bitsandbytes', 'torchao', 'gradio',
         'pycocoevalcap']
CAPTION = {'pred_caption': 'a small red circle and a large blue square.'}
TINY_CONFIG = osp.join(REPO, 'configs', 'llava',
                       'llava-tiny-shapes_caption.py')
TINY_CKPT = osp.join(REPO, 'checkpoints', 'llava-tiny-shapes',
                     'llava-tiny-shapes-a01aa8b8.pth')


def run_python(args, env=None, **kwargs) -> subprocess.CompletedProcess:
    """A Python process on this checkout, in the repository root."""
    env = dict(os.environ if env is None else env, PYTHONPATH=REPO)
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300,
                          **kwargs)


# One new process, step by step: import, one caption, show=True, a 7B
# model with the hub unreachable, the deferred libraries used, the log
# filters off, every type the configs name looked up in the registries.
# stderr is cut at each 'STEP name' line.
FRESH_PROCESS = f"""
import json, logging, sys, time
HEAVY = {HEAVY!r}
out = {{}}
def step(name):
    print('STEP', name, file=sys.stderr, flush=True)

import llava_mm
out['after_import'] = [m for m in HEAVY + ['torch', 'transformers',
                                           'mmengine'] if m in sys.modules]
out['result'] = llava_mm.inference_model('llava-tiny-shapes_caption',
                                         'demo/shapes.png')
out['after_caption'] = [m for m in HEAVY if m in sys.modules]
step('show')
try:
    llava_mm.inference_model('llava-tiny-shapes_caption', 'demo/shapes.png',
                             show=True)
except RuntimeError as e:
    out['show'] = str(e)

step('hub')
from llava_mm.utils import WeightsUnavailableError
start = time.time()
try:
    llava_mm.get_model('llava-7b-v1.5_caption')
except WeightsUnavailableError as e:
    out['hub'] = [time.time() - start, str(e)]

step('deferred')
import torch
import transformers.quantizers.quantizer_torchao as quantizer
state = {{'w': torch.arange(4.0)}}
data, meta = quantizer.flatten_tensor_state_dict(state)
from torchao.prototype.safetensors.safetensors_support import \\
    flatten_tensor_state_dict
ref_data, ref_meta = flatten_tensor_state_dict(state)
out['flatten_same'] = list(data) == list(ref_data) and meta == ref_meta \\
    and all(torch.equal(data[k], ref_data[k]) for k in data)
from llava_mm.registry import OPTIMIZERS
out['adam8'] = OPTIMIZERS.get('AdamW8bit').__module__
from torchao.quantization.quantize_.common.kernel_preference import \\
    KernelPreference
log = logging.getLogger('torch.utils._pytree')
msg = ('%s is an Enum subclass and is now natively supported by '
       'torch.compile as an opaque value type.')
log.warning(msg, KernelPreference)

step('verbose')
from llava_mm.utils import third_party
third_party.show_all()
log.warning(msg, KernelPreference)

step('registries')
import glob
from mmengine.config import Config
import llava_mm.registry as registry
def types(node):
    if isinstance(node, dict):
        if isinstance(node.get('type'), str):
            yield node['type']
        for key, value in node.items():
            if key not in ('norm_cfg', 'act_cfg'):  # read by the ViT itself
                yield from types(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from types(value)
names = set()
for path in sorted(glob.glob('configs/llava/*.py')):
    names |= set(types(Config.fromfile(path).to_dict()))
out['config_types'] = len(names)
out['not_found'] = sorted(
    n for n in names if not any(getattr(registry, r).get(n) is not None
                                for r in registry.__all__))
print(json.dumps(out))
"""


@pytest.fixture(scope='module')
def fresh_process(tmp_path_factory):
    """What :data:`FRESH_PROCESS` returned, and its stderr by step."""
    env = {k: v for k, v in os.environ.items()
           if k not in ('DISPLAY', 'WAYLAND_DISPLAY', 'MPLBACKEND',
                        'HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE')}
    # Nothing listens on port 9; the hub cache is empty.
    home = tmp_path_factory.mktemp('hf_home')
    env.update(HF_ENDPOINT='http://127.0.0.1:9', HF_HOME=str(home),
               HF_HUB_CACHE=str(home / 'hub'))
    proc = run_python(['-c', FRESH_PROCESS], env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    parts = re.split(r'^STEP (\w+)\n', proc.stderr, flags=re.M)
    stderr = dict(start=parts[0], **dict(zip(parts[1::2], parts[2::2])))
    return json.loads(proc.stdout), stderr


def test_import_and_one_caption_load_only_what_they_use(fresh_process):
    out, stderr = fresh_process
    assert out['after_import'] == []  # a facade: not even torch
    assert out['result'] == CAPTION
    assert out['after_caption'] == []
    assert stderr['start'] == ''


def test_show_without_a_display_refuses_at_once(fresh_process):
    """mmengine would wait for a key press forever under matplotlib's
    ``agg`` backend; the refusal comes before generating."""
    out, _ = fresh_process
    assert out['show'].startswith('show=True needs a display')
    assert "show_dir='DIR'" in out['show']


def test_unreachable_hub_fails_at_once(fresh_process):
    """No hub retries (about 50 s before): one request, then the cache; the
    error names HF_HUB_OFFLINE=1, `hf download` and the Python keyword."""
    out, stderr = fresh_process
    seconds, message = out['hub']
    assert seconds < 10
    assert 'Retrying' not in stderr['hub']
    assert 'http://127.0.0.1:9) did not answer' in message
    assert '`hf download liuhaotian/llava-v1.5-7b --local-dir DIR`' in message
    assert 'HF_HUB_OFFLINE=1' in message
    assert ("`get_model(..., tokenizer=dict(name_or_path='/path/to/local'))`"
            in message)
    assert message.endswith(
        "use the local copy: `get_model(..., tokenizer=dict(name_or_path="
        "'/path/to/local'))`.")  # Python words, no CLI flags


def test_deferred_libraries_load_when_used(fresh_process):
    """bitsandbytes and torchao were not imported with mmengine.model and
    transformers' models (above); mmengine's bitsandbytes optimizers and
    transformers' torchao function work, importing them. Their harmless
    messages are filtered; ``show_all`` (``--verbose``) shows them."""
    out, stderr = fresh_process
    assert out['flatten_same']
    assert out['adam8'].startswith('bitsandbytes.optim')
    assert 'gemm_4bit_forward' not in stderr['deferred']
    assert 'Enum subclass' not in stderr['deferred']
    assert 'KernelPreference' in stderr['verbose']
    assert 'Enum subclass' in stderr['verbose']


def test_registries_find_every_config_type(fresh_process):
    """The registries' locations import what configs name: nothing was
    imported for them but ``llava_mm`` (and the steps above)."""
    out, _ = fresh_process
    assert out['config_types'] > 20
    assert out['not_found'] == []


def test_readme_command_prints_only_the_answer():
    proc = run_python(['tools/inference.py', 'demo/shapes.png',
                       'llava-tiny-shapes_caption'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout == json.dumps(CAPTION) + '\n'
    assert proc.stderr == ''


class KernelPreference(enum.Enum):
    """Stands for torchao's enum of that name, without importing torchao."""
    AUTO = 'auto'


def _pytree_record(enum_cls) -> logging.LogRecord:
    return logging.LogRecord(
        'torch.utils._pytree', logging.WARNING, 'torch/utils/_pytree.py',
        630, '%s is an Enum subclass and is now natively supported by '
        'torch.compile as an opaque value type. Calling register_constant() '
        'on Enum subclasses is deprecated and will be an error in a future '
        'release.', (enum_cls, ), None)


def test_filters_drop_only_the_known_messages(monkeypatch):
    bnb = third_party.FILTERS['bitsandbytes.backends.cpu.ops']
    record = logging.LogRecord(
        'bitsandbytes.backends.cpu.ops', logging.WARNING, 'ops.py', 253,
        'Failed to load CPU gemm_4bit_forward from kernels-community: %s. '
        'Please make sure you already `pip install kernels`', ('x', ), None)
    assert not bnb.filter(record)
    record.msg = 'Failed to load CPU gemm_4bit_backward'
    assert bnb.filter(record)

    pytree = third_party.FILTERS['torch.utils._pytree']
    assert pytree.filter(_pytree_record(KernelPreference))  # not torchao's
    for module in ('torchao.quantization', 'torchao'):
        monkeypatch.setattr(KernelPreference, '__module__', module)
        assert not pytree.filter(_pytree_record(KernelPreference))
    monkeypatch.setattr(KernelPreference, '__module__', 'torchao_extra')
    assert pytree.filter(_pytree_record(KernelPreference))
    other = _pytree_record(KernelPreference)
    other.msg, other.args = 'something else about %s', ('torchao', )
    assert pytree.filter(other)


def test_local_paths_are_checked_before_the_tokenizer(tmp_path):
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.model.tokenizer.name_or_path = 'no-such-org/no-such-tokenizer'
    missing = str(tmp_path / 'missing.pth')
    with pytest.raises(FileNotFoundError) as e:
        get_model(cfg, pretrained=missing)
    assert str(e.value) == (
        f'Checkpoint {missing} not found. Give an existing file: '
        "`get_model(NAME, pretrained='/path/to/file.pth')` or "
        "`init_model(CONFIG, '/path/to/file.pth')`.")
    folder = str(tmp_path / 'tokenizer')
    with pytest.raises(FileNotFoundError, match='tokenizer folder .* does '
                       r"not exist.*tokenizer=dict\(name_or_path="):
        get_model('llava-tiny-shapes_caption',
                  tokenizer=dict(name_or_path=folder))
    # The same hub name fails from the hub (offline in tests) afterwards.
    with pytest.raises(WeightsUnavailableError, match='HF_HUB_OFFLINE is '
                       'set, so only the local cache was read'):
        get_model(cfg, pretrained=TINY_CKPT)


def _test_tool():
    spec = importlib.util.spec_from_file_location(
        'llava_mm_tools_test_startup', osp.join(REPO, 'tools', 'test.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _refusal(argv, capsys) -> str:
    """The line tools/test.py prints when it refuses ``argv``."""
    from llava_mm.utils.user_errors import run_tool
    tool = _test_tool()
    assert run_tool(tool.main, argv, tool_file=tool.__file__) == 1
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_test_tool_names_its_own_options(tmp_path, capsys):
    config = osp.join(REPO, 'configs', 'llava', 'llava-tiny-shapes_vqa.py')
    work = ['--work-dir', str(tmp_path / 'work')]
    message = _refusal([config, str(tmp_path / 'no.pth'), *work], capsys)
    assert message.startswith(f'error: Checkpoint {tmp_path}/no.pth not found')
    assert message.endswith(
        '`python tools/test.py CONFIG /path/to/file.pth`.')
    message = _refusal([config, TINY_CKPT, '--tokenizer',
                        str(tmp_path / 'tok'), *work], capsys)
    assert message.endswith('Give the folder that holds it: '
                            '`--tokenizer DIR`.')
    # A hub name is loaded with the model: the error is in the same words.
    cfg = Config.fromfile(config)
    cfg.model.tokenizer.name_or_path = 'no-such-org/tok'
    with cli_wording(_test_tool().CLI_FLAGS), pytest.raises(
            WeightsUnavailableError) as e:
        init_model(cfg, TINY_CKPT)
    assert 'hf download no-such-org/tok --local-dir DIR' in str(e.value)
    assert str(e.value).endswith('`--tokenizer DIR`.')


def test_test_tool_says_how_to_make_missing_data(tmp_path, capsys):
    config = osp.join(REPO, 'configs', 'llava', 'llava-tiny-shapes_vqa.py')
    start = time.time()
    message = _refusal([config, TINY_CKPT, '--data-root', str(tmp_path),
                        '--work-dir', str(tmp_path / 'work')], capsys)
    assert time.time() - start < 30  # no model, no metric was built
    assert message == (
        f'error: The test data of {config} is not there: {tmp_path}/'
        'annotations/shapes_test_annotations.json not found (and 1 more). '
        'Either make it with `python projects/tiny_shapes/make_shapes.py '
        f'--out {tmp_path} --split test --num-images 500 --seed 2024`, or '
        'pass --data-root DIR for a copy elsewhere.')


def test_make_shapes_help_names_a_function_that_exists(capsys,
                                                       monkeypatch):
    project = osp.join(REPO, 'projects', 'tiny_shapes')
    monkeypatch.syspath_prepend(project)
    # make_shapes.py imports the package as `tiny_shapes`; the tests import
    # it as projects.tiny_shapes.tiny_shapes: one package, imported (and
    # its model registered) once.
    monkeypatch.setitem(sys.modules, 'tiny_shapes', importlib.import_module(
        'projects.tiny_shapes.tiny_shapes'))
    spec = importlib.util.spec_from_file_location(
        'make_shapes', osp.join(project, 'make_shapes.py'))
    make_shapes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_shapes)
    monkeypatch.setattr(sys, 'argv', ['make_shapes.py', '--help'])
    with pytest.raises(SystemExit):
        make_shapes.parse_args()
    help_text = ' '.join(capsys.readouterr().out.split())
    names = re.findall(r'see ([\w.]+)', help_text)
    assert names
    for name in names:
        # Read the named module's source rather than importing it: the
        # project's package may already be imported under another name
        # (projects.tiny_shapes...), and importing it again would register
        # its models twice.
        module, attr = name.rsplit('.', 1)
        path = osp.join(project, *module.split('.')) + '.py'
        tree = ast.parse(open(path).read())
        assert attr in {n.name for n in tree.body
                        if isinstance(n, ast.FunctionDef)}, (name, path)
