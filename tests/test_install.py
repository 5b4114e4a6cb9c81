"""The package as users install it: the gemv kernel built by ``pip
install``, and a wheel that works alone, away from the checkout."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import zipfile

import pytest

from llava_mm.ops.cpu.gemv import cpu_has_avx512_bf16, prebuilt_kernel

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CAPTION = {'pred_caption': 'a small red circle and a large blue square.'}
# Not copied to build the wheel: outputs and caches of a working checkout.
NOT_SOURCES = ('.git', 'build', 'dist', '*.egg-info', '__pycache__', '*.so',
               '.mim', 'work_dirs', 'data', 'venv', '.venv', '.pytest_cache',
               '.ruff_cache', '.whl')


def run(cmd, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          **kwargs)
    assert proc.returncode == 0, f'{cmd}:\n{proc.stdout}\n{proc.stderr}'
    return proc


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """The wheel of this checkout, installed alone into a folder.

    Returns:
        tuple: (wheel path, install folder, environment that imports
        llava_mm from there only, a working folder outside the checkout).
    """
    root = tmp_path_factory.mktemp('wheel')
    src = root / 'src'
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(*NOT_SOURCES))
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    # The kernel's compile is tested by test_kernel_built_at_install.
    env['LLAVA_MM_BUILD_KERNEL'] = '0'
    run([sys.executable, '-m', 'pip', 'wheel', '--no-deps',
         '--no-build-isolation', '-q', '-w', str(root / 'dist'), str(src)],
        env=env, cwd=root)
    wheel, = (root / 'dist').glob('llava_mm-*.whl')
    site = root / 'site'
    run([sys.executable, '-m', 'pip', 'install', '--no-deps', '--no-index',
         '-q', '--target', str(site), str(wheel)], env=env, cwd=root)
    shutil.rmtree(src)  # nothing can come from the source tree now
    elsewhere = root / 'elsewhere'
    (elsewhere / 'demo').mkdir(parents=True)
    shutil.copy(site / 'llava_mm' / '.mim' / 'demo' / 'shapes.png',
                elsewhere / 'demo')
    env['PYTHONPATH'] = str(site)
    return wheel, site, env, elsewhere


def test_wheel_carries_what_the_package_needs(installed):
    wheel, _, _, _ = installed
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        entry_points = next(z.read(n).decode() for n in names
                            if n.endswith('.dist-info/entry_points.txt'))
    for name in ('ops/cpu/csrc/bf16_gemv.cpp', 'tools/test.py',
                 '.mim/model-index.yml', '.mim/configs/llava/metafile.yml',
                 '.mim/configs/llava/llava-tiny-shapes_caption.py',
                 '.mim/configs/_base_/models/llava-7b-v1.5.py',
                 '.mim/checkpoints/llava-tiny-shapes/'
                 'llava-tiny-shapes-a01aa8b8.pth',
                 '.mim/checkpoints/llava-tiny-shapes/tokenizer/'
                 'tokenizer.json',
                 '.mim/demo/shapes.png', '.mim/tools/test.py',
                 '.mim/tools/dist_test.sh'):
        assert f'llava_mm/{name}' in names, name
    assert not any('models/csrc' in n or '__pycache__' in n for n in names)
    for tool in ('test', 'train', 'inference', 'chat', 'gradio-demo'):
        assert f'llava-mm-{tool} = llava_mm.tools.' in entry_points


def test_wheel_works_outside_the_checkout(installed):
    """The README's two commands and list_models(), from the installed
    files only."""
    _, site, env, elsewhere = installed
    proc = run([sys.executable, '-c', 'import json, llava_mm; print(json.'
                'dumps([llava_mm.__file__, llava_mm.list_models()]))'],
               env=env, cwd=elsewhere)
    where, names = json.loads(proc.stdout)
    assert where == str(site / 'llava_mm' / '__init__.py')
    assert {'llava-tiny-shapes_caption', 'llava-tiny-shapes_vqa',
            'llava-7b-v1.5_caption'} <= set(names)
    # The console script pip wrote, and python -m.
    proc = run([str(site / 'bin' / 'llava-mm-inference'), 'demo/shapes.png',
                'llava-tiny-shapes_caption'], env=env, cwd=elsewhere)
    assert proc.stdout == json.dumps(CAPTION) + '\n'
    assert proc.stderr == ''
    proc = run([sys.executable, '-m', 'llava_mm.tools.inference',
                'demo/shapes.png', 'llava-tiny-shapes_vqa', '--prompt',
                'What shape is the blue object?'], env=env, cwd=elsewhere)
    assert json.loads(proc.stdout) == {
        'question': 'What shape is the blue object?', 'pred_answer': 'square'}


@pytest.mark.skipif(not cpu_has_avx512_bf16(),
                    reason='the kernel runs on AVX512-BF16 CPUs only')
def test_kernel_built_at_install_needs_no_compiler(tmp_path):
    """``pip install --no-build-isolation`` (.ci/run, README) compiles the
    kernel; a bf16 model then uses it with no compiler and no build."""
    if prebuilt_kernel() is None:
        if os.environ.get('LLAVA_MM_KERNEL_INSTALLED') == '1':
            pytest.fail('the install did not build llava_mm.ops.cpu.'
                        '_bf16_gemv')
        pytest.skip('this install has no kernel binary (pip install '
                    '--no-build-isolation with torch and g++ builds it)')
    code = '''
import json, torch, torch.nn.functional as F
from llava_mm import get_model
from llava_mm.ops.cpu.gemv import bf16_gemv, load_kernel
model = get_model('llava-tiny-shapes_caption', device='cpu', dtype='bf16',
                  engine=dict(bf16_gemv=True))
g = torch.Generator().manual_seed(0)
x = torch.randn(2, 96, generator=g).bfloat16()
w = torch.randn(40, 96, generator=g).bfloat16()
exact = F.linear(x.float(), w.float())
err = (bf16_gemv(x, w).float() - exact).abs()
print(json.dumps(dict(
    applied=model.engine.kernels['bf16_gemv'],
    module=load_kernel().__name__,
    close=bool((err <= exact.abs() * 2**-8 + 1e-4).all()))))
'''
    ext_dir = tmp_path / 'torch_extensions'
    env = dict(os.environ, PYTHONPATH=REPO, CXX=str(tmp_path / 'no-c++'),
               TORCH_EXTENSIONS_DIR=str(ext_dir))
    proc = run([sys.executable, '-c', code], env=env, cwd=REPO)
    assert json.loads(proc.stdout.splitlines()[-1]) == dict(
        applied=True, module='llava_mm.ops.cpu._bf16_gemv', close=True)
    assert not ext_dir.exists()  # nothing was compiled
