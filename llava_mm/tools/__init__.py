"""The tools of an installed package: ``python -m llava_mm.tools.test``
(or the ``llava-mm-test`` console script) runs ``tools/test.py``, and so on.

The scripts are the repository's ``tools/*.py``; a wheel carries them in
``llava_mm/.mim/tools``, where mim also looks for them.
"""
import runpy
import sys

from llava_mm.apis.model_index import package_root


def run_tool(script: str) -> None:
    """Run ``tools/<script>`` as ``__main__`` with this process's arguments.

    Args:
        script (str): The file name, e.g. ``'test.py'``.
    """
    path = package_root() / 'tools' / script
    if not path.is_file():
        raise SystemExit(f'error: {path} is missing; reinstall llava_mm.')
    sys.argv[0] = str(path)
    runpy.run_path(str(path), run_name='__main__')
