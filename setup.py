"""llava_mm: LLaVA v1/v1.5 as an OpenMMLab-style, config-driven package."""
import os
import os.path as osp
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = osp.dirname(osp.abspath(__file__))


class BuildWithConfigs(build_py):
    """Ship configs/, model-index.yml and the small model in llava_mm/.mim.

    A source checkout or editable install reads them from the repository
    root; a wheel needs its own copy.
    """

    def run(self) -> None:
        super().run()
        dst = osp.join(self.build_lib, 'llava_mm', '.mim')
        os.makedirs(dst, exist_ok=True)
        for name in ('configs', 'checkpoints', 'demo', 'model-index.yml'):
            src = osp.join(HERE, name)
            target = osp.join(dst, name)
            if osp.isdir(src):
                shutil.copytree(src, target, dirs_exist_ok=True)
            elif osp.isfile(src):
                shutil.copy(src, target)


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
    package_data={'llava_mm': ['models/csrc/*.cpp']},  # built on first use
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
    cmdclass={'build_py': BuildWithConfigs},
    license='Apache-2.0',
)
