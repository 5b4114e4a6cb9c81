"""llava_mm: LLaVA v1/v1.5 as an OpenMMLab-style, config-driven package.

``pip install .`` (or a wheel) also builds the bf16 gemv kernel
(``llava_mm/ops/cpu/csrc``) as a torch C++ extension when torch and a C++
compiler are in the build environment (``pip install --no-build-isolation``
after torch). Without them, or with ``LLAVA_MM_BUILD_KERNEL=0``, the
package installs without it and the kernel is compiled on first use, as
``llava_mm/ops/cpu/gemv.py`` says.
"""
import os
import os.path as osp
import platform
import shutil
import sys
import warnings

from setuptools import find_packages, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

HERE = osp.dirname(osp.abspath(__file__))
KERNEL_SRC = 'llava_mm/ops/cpu/csrc/bf16_gemv.cpp'
# What mim expects in an installed package: llava_mm/.mim/<these>.
MIM_FILES = ('configs', 'checkpoints', 'demo', 'tools', 'model-index.yml')


class BuildWithConfigs(build_py):
    """Ship configs, tools, the model index, the small model and the demo
    image in llava_mm/.mim.

    A source checkout or editable install reads them from the repository
    root; a wheel needs its own copy.
    """

    def run(self) -> None:
        super().run()
        dst = osp.join(self.build_lib, 'llava_mm', '.mim')
        os.makedirs(dst, exist_ok=True)
        for name in MIM_FILES:
            src = osp.join(HERE, name)
            target = osp.join(dst, name)
            if osp.isdir(src):
                shutil.copytree(
                    src, target, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
            elif osp.isfile(src):
                shutil.copy(src, target)


def kernel_extensions() -> list:
    """The gemv kernel extension, when it can be built here.

    Returns:
        list: One ``CppExtension`` (optional: a failed build leaves the
        kernel to be compiled on first use), or none.
    """
    compiler = os.environ.get('CXX', 'c++')
    if os.environ.get('LLAVA_MM_BUILD_KERNEL', '1') == '0' or \
            sys.platform != 'linux' or \
            platform.machine() not in ('x86_64', 'AMD64') or \
            shutil.which(compiler) is None:
        return []
    try:
        from torch.utils.cpp_extension import CppExtension
    except ImportError:  # an isolated build environment without torch
        return []
    return [CppExtension(
        'llava_mm.ops.cpu._bf16_gemv', [KERNEL_SRC], optional=True,
        extra_compile_args=['-O3', '-mavx512f', '-mavx512bf16', '-fopenmp'],
        extra_link_args=['-fopenmp'])]


def build_ext_class() -> type:
    """torch's ``BuildExtension`` when torch is here, else setuptools'."""
    try:
        from torch.utils.cpp_extension import BuildExtension
    except ImportError:
        return build_ext

    class BuildKernel(BuildExtension):
        """Builds the kernel; says so when it cannot (first use builds it)."""

        def run(self) -> None:
            try:
                super().run()
            except Exception as e:  # no usable compiler: ABI check, ...
                warnings.warn(
                    f'The bf16 gemv kernel was not built ({e}); llava_mm '
                    'compiles it on first use instead.')

    return BuildKernel


def requirements() -> list:
    with open(osp.join(HERE, 'requirements.txt')) as f:
        return [ln.strip() for ln in f
                if ln.strip() and not ln.startswith('#')]


version = {}
with open(osp.join(HERE, 'llava_mm', 'version.py')) as f:
    exec(f.read(), version)

setup(
    name='llava_mm',
    version=version['__version__'],
    description='LLaVA v1/v1.5 for the OpenMMLab world: configs, registries, '
    'tools/test.py and the OpenMMLab checkpoints on a current stack.',
    long_description=open(osp.join(HERE, 'README.md')).read()
    if osp.isfile(osp.join(HERE, 'README.md')) else '',
    long_description_content_type='text/markdown',
    python_requires='>=3.9',
    packages=find_packages(exclude=('tests', 'tools', 'configs')),
    # The kernel's source: built on first use when no binary was built.
    package_data={'llava_mm': ['ops/cpu/csrc/*.cpp']},
    ext_modules=kernel_extensions(),
    install_requires=requirements(),
    extras_require={
        'tests': ['pytest', 'ruff', 'openpyxl'],
        # The MMBench submission file (.xlsx).
        'eval': ['openpyxl'],
        # tools/gradio_demo.py
        'demo': ['gradio>=6,<7'],
        # Low-bit loading and device_map (llava_mm/models/quantization.py).
        'quant': ['bitsandbytes>=0.50,<0.51', 'torchao>=0.18,<0.19',
                  'accelerate>=1.0'],
    },
    entry_points={'console_scripts': [
        f'llava-mm-{name.replace("_", "-")}=llava_mm.tools.{name}:main'
        for name in ('test', 'train', 'inference', 'chat', 'gradio_demo')
    ]},
    cmdclass={'build_py': BuildWithConfigs, 'build_ext': build_ext_class()},
    license='Apache-2.0',
)
