"""The README's examples run on a fresh clone and print what it says."""
import json
import os.path as osp
import re
import shlex
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SKIP = '<!-- readme-test: skip'


def _blocks(lang: str):
    """``(code, skipped)`` of every fenced block of ``lang`` in the README."""
    with open(osp.join(ROOT, 'README.md')) as f:
        text = f.read()
    fence = rf'(^[^\n]*\n)?```{lang}\n(.*?)```'
    for m in re.finditer(fence, text, re.M | re.S):
        before = (m.group(1) or '').strip()
        yield m.group(2), before.startswith(SKIP)


PYTHON = list(_blocks('python'))


def test_readme_has_python_examples():
    assert sum(not skipped for _, skipped in PYTHON) >= 1


@pytest.mark.parametrize('index', range(len(PYTHON)))
def test_python_example_runs(index):
    code, skipped = PYTHON[index]
    if skipped:
        pytest.skip('marked in the README as not a runnable script')
    proc = subprocess.run([sys.executable, '-c', code], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]


def _commands_with_output():
    """``python tools/...`` lines followed by a ``# {json}`` output line."""
    for code, skipped in _blocks('bash'):
        lines = code.splitlines()
        for cmd, out in zip(lines, lines[1:]):
            if cmd.startswith('python tools/') and out.startswith('# {'):
                yield cmd, json.loads(out[2:])


COMMANDS = list(_commands_with_output())


def test_readme_shows_command_outputs():
    assert len(COMMANDS) >= 2


@pytest.mark.parametrize('index', range(len(COMMANDS)))
def test_command_prints_what_the_readme_says(index):
    cmd, expected = COMMANDS[index]
    argv = shlex.split(cmd)
    proc = subprocess.run([sys.executable, *argv[1:]], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == expected
