"""tools/chat.py driven through stdin with the shipped shapes model."""
import os
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(ROOT, 'demo', 'shapes.png')  # red circle left, blue square


def run_chat(lines, *args, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run(
        [sys.executable, osp.join(ROOT, 'tools', 'chat.py'), *args],
        input=''.join(f'{line}\n' for line in lines), capture_output=True,
        text=True, timeout=600, cwd=cwd, env=env)


def replies(stdout):
    """What the tool printed after each ``USER:`` prompt."""
    return [r.strip() for r in stdout.split('USER:')[1:]]


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
    assert got[8] == 'ASSISTANT: red'
    assert len(got) == 10  # /exit ended it; the last line was not read


def test_an_unusable_image_stops_it_before_the_chat():
    out = run_chat([], 'missing.png')
    assert out.returncode == 2
    assert '[error] Image file not found: missing.png' in out.stdout
    assert 'USER:' not in out.stdout
