"""tools/chat.py driven through stdin with the shipped shapes model, and the
loading flags it shares with tools/inference.py and the web demo."""
import argparse
import importlib.util
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

from llava_mm import LlavaChat
from llava_mm.apis.cli import (
    add_model_args,
    model_args_problem,
    model_from_args,
)
from llava_mm.models.quantization import quantized_module_names

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(ROOT, 'demo', 'shapes.png')  # red circle left, blue square
SHIPPED = osp.join(ROOT, 'checkpoints', 'llava-tiny-shapes')
CONFIG = osp.join(ROOT, 'configs', 'llava', 'llava-tiny-shapes_vqa.py')


def run_chat(lines, *args, cwd=ROOT):
    """Run the tool with ``lines`` (str, or bytes as they are) on stdin."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    data = b''.join(x if isinstance(x, bytes) else x.encode() + b'\n'
                    for x in lines)
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'chat.py'), *args],
        input=data, capture_output=True, timeout=600, cwd=cwd, env=env)
    return subprocess.CompletedProcess(out.args, out.returncode,
                                       out.stdout.decode(),
                                       out.stderr.decode())


def replies(stdout):
    """What the tool printed after each ``USER:`` prompt."""
    return [r.strip() for r in stdout.split('USER:')[1:]]


def flags(*argv):
    parser = argparse.ArgumentParser()
    add_model_args(parser)
    return parser.parse_args(list(argv))


def test_terminal_chat_turns_and_commands(tmp_path):
    bad = tmp_path / 'notes.txt'
    bad.write_text('not an image')
    out = run_chat([
        'Is the circle on the left or the right?',
        'What colour is the circle?',
        'What colour is the square?',
        '/reset',
        f'/image {bad}',
        '/image',
        '/colour',
        f'/image {DEMO}',
        b'What \xff colour?\n',  # not UTF-8: refused, the chat goes on
        'What colour is the circle?',
        '/exit',
        'never read',
    ], DEMO, 'llava-tiny-shapes_vqa', '--temperature', '0', cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    got = replies(out.stdout)
    assert got[:3] == ['ASSISTANT: left', 'ASSISTANT: red',
                       'ASSISTANT: blue']
    assert got[3] == '[conversation reset; same image]'
    assert got[4].startswith('[error] Cannot read') and 'notes.txt' in got[4]
    assert got[5] == '[error] usage: /image PATH'
    assert got[6].startswith('[error] unknown command /colour')
    assert got[7] == f'[new image {DEMO}; new conversation]'
    assert 'is not valid text: it holds a lone surrogate at character 5' \
        in got[8]
    assert got[9] == 'ASSISTANT: red'
    assert len(got) == 11  # /exit ended it; the last line was not read


def test_an_unusable_image_stops_it_before_the_chat():
    out = run_chat([], 'missing.png')
    assert out.returncode == 2
    assert '[error] Image file not found: missing.png' in out.stdout
    assert 'USER:' not in out.stdout


def test_local_weights_tokenizer_and_quantization(tmp_path):
    """A config with local copies of the files, quantized, as a user with
    their own 7B weights would run it."""
    weights = shutil.copytree(SHIPPED, tmp_path / 'weights')
    ckpt = next(weights.glob('*.pth'))
    args = flags('--checkpoint', str(ckpt), '--tokenizer',
                 str(weights / 'tokenizer'), '--quantization', 'int8',
                 '--device', 'cpu')
    model = model_from_args(CONFIG, args)
    assert model.tokenizer.name_or_path == str(weights / 'tokenizer')
    assert quantized_module_names(model)
    chat = LlavaChat(model, temperature=0)
    assert chat.ask('What colour is the circle?', image=DEMO) == 'red'


@pytest.mark.parametrize('name, argv, message', [
    (CONFIG, [], f'{CONFIG} is a config file: add --checkpoint PATH'),
    ('llava-13b-v1.5_vqa', [], 'llava-13b-v1.5_vqa has no released '
     'weights: convert them (configs/llava/README.md) and add --checkpoint '
     'PATH.'),
    ('llava-tiny', [], "Unknown model 'llava-tiny'"),
    ('nope.py', [], 'Config file not found: nope.py'),
    (CONFIG, ['--checkpoint', 'missing.pth'],
     '--checkpoint missing.pth: no such file.'),
    (CONFIG, ['--checkpoint', SHIPPED],
     f'--checkpoint {SHIPPED}: is a folder, not a file.'),
    ('llava-tiny-shapes_vqa', ['--tokenizer', './no/such/dir'],
     '--tokenizer ./no/such/dir: no such folder'),
    ('llava-tiny-shapes_vqa', ['--vision-checkpoint', '/no/vit.pth'],
     '--vision-checkpoint /no/vit.pth: no such file.'),
])
def test_flag_problems_are_named_before_loading(name, argv, message):
    assert model_args_problem(name, flags(*argv)).startswith(message)


def test_unreachable_files_are_named_by_their_flags():
    # Offline (conftest): a hub tokenizer fails at once.
    with pytest.raises(SystemExit) as e:
        model_from_args(CONFIG, flags(
            '--checkpoint', next(iter(
                osp.join(SHIPPED, f) for f in os.listdir(SHIPPED)
                if f.endswith('.pth'))),
            '--tokenizer', 'no-such-org/no-such-tokenizer'))
    message = str(e.value)
    assert message.startswith("error: Could not load the tokenizer from "
                              "'no-such-org/no-such-tokenizer'")
    assert message.endswith('use the local copy: `--tokenizer DIR`.')
    assert 'get_model' not in message and '--cfg-options' not in message


def test_a_config_without_checkpoint_gets_one_line(monkeypatch):
    spec = importlib.util.spec_from_file_location(
        'llava_mm_tools_chat', osp.join(ROOT, 'tools', 'chat.py'))
    chat = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(chat)
    monkeypatch.setattr(sys, 'argv', ['chat.py', DEMO, CONFIG])
    with pytest.raises(SystemExit) as e:  # its message is all that prints
        chat.main()
    assert str(e.value) == (
        f'error: {CONFIG} is a config file: add --checkpoint PATH (or give '
        'a model name from list_models()).')
