"""tools/gradio_demo.py launched on localhost with the shipped model and
driven through gradio_client (needs the ``demo`` extra)."""
import os
import os.path as osp
import re
import socket
import subprocess
import sys
import time

import pytest
from PIL import Image

gradio_client = pytest.importorskip('gradio_client')

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(ROOT, 'demo', 'shapes.png')  # red circle left, blue square
VQA = 'llava-tiny-shapes_vqa'
# temperature 0 (greedy), top_p, max_new_tokens
GREEDY = (0, 0.7, 512)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


# Runs the demo with an audit hook that reports every network lookup or
# connection to a host other than this machine (gradio must not phone home).
LAUNCH = '''
import runpy, sys
LOCAL = (None, '127.0.0.1', 'localhost', '::1', '0.0.0.0')
def hook(event, args):
    if event == 'socket.getaddrinfo' and args[0] not in LOCAL or (
            event == 'socket.connect' and isinstance(args[1], tuple)
            and args[1][0] not in LOCAL):
        print('NON-LOCAL NETWORK', event, args[:2], flush=True)
sys.addaudithook(hook)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp('gradio') / 'server.log'
    env = dict(os.environ, PYTHONPATH=ROOT)
    with open(log, 'w') as out:
        proc = subprocess.Popen(
            [sys.executable, '-c', LAUNCH,
             osp.join(ROOT, 'tools', 'gradio_demo.py'), '--port',
             str(port)], stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f'http://127.0.0.1:{port}/'
    try:
        deadline = time.time() + 600
        while True:
            assert proc.poll() is None, log.read_text()
            with socket.socket() as s:
                if s.connect_ex(('127.0.0.1', port)) == 0:
                    break
            assert time.time() < deadline, 'the demo did not start'
            time.sleep(1)
        yield url, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def client(url):
    return gradio_client.Client(url, verbose=False)


def ask(c, question, image=DEMO, model=VQA, settings=GREEDY):
    """Send a question; the final chat messages as (role, text) pairs, and
    how many updates streamed in."""
    image = None if image is None else gradio_client.handle_file(image)
    job = c.submit(question, image, model, *settings, api_name='/respond')
    messages, _ = job.result(timeout=300)
    return [(m['role'], m['content'][0]['text']) for m in messages], len(
        job.outputs())


def test_two_sessions_keep_their_own_conversation(server):
    a, b = client(server[0]), client(server[0])
    got, _ = ask(a, 'Is the circle on the left or the right?')
    assert got == [('user', 'Is the circle on the left or the right?'),
                   ('assistant', 'left')]
    got, _ = ask(b, 'What colour is the square?', image=DEMO)
    assert got == [('user', 'What colour is the square?'),
                   ('assistant', got[1][1])]  # b sees only its own turn
    got, _ = ask(a, 'What colour is the circle?')
    assert got[2:] == [('user', 'What colour is the circle?'),
                       ('assistant', 'red')]
    assert len(got) == 4
    assert len(ask(b, 'What colour is the circle?')[0]) == 4
    # Clear starts a's conversation over.
    a.predict(None, api_name='/clear')
    got, _ = ask(a, 'What colour is the circle?')
    assert got == [('user', 'What colour is the circle?'),
                   ('assistant', 'red')]


def test_bad_input_gets_a_message_and_the_server_stays_up(server, tmp_path):
    c = client(server[0])
    notes = tmp_path / 'notes.txt'
    notes.write_text('not an image')
    huge = tmp_path / 'huge.png'
    Image.new('L', (8000, 6000)).save(huge)  # 48 MP, a small file
    for question, image, message in [
            ('What colour is the circle?', None, 'Upload an image first'),
            ('   ', DEMO, 'Type a question'),
            ('What colour is the circle?', str(notes),
             'notes.txt is not an image file'),
            ('What colour is the circle?', str(huge),
             'huge.png is 8000x6000 (48 MP); this demo takes up to 40 MP')]:
        with pytest.raises(gradio_client.exceptions.AppError,
                           match=re.escape(message)):
            ask(c, question, image)
    got, _ = ask(c, 'What colour is the circle?')
    assert got == [('user', 'What colour is the circle?'),
                   ('assistant', 'red')]


def test_model_picker_and_streaming(server):
    c = client(server[0])
    question = 'Provide a one-sentence caption for the provided image.'
    got, updates = ask(c, question, model='llava-tiny-shapes_caption')
    assert got[1][0] == 'assistant'
    assert 'red circle' in got[1][1] and 'blue square' in got[1][1]
    assert updates > 3  # the caption arrived word by word


def test_local_only_and_no_phoning_home(server):
    url, log = server
    ask(client(url), 'What colour is the circle?')
    text = log.read_text()
    assert f'Running on local URL:  {url}'.rstrip('/') in text
    assert 'NON-LOCAL NETWORK' not in text, text
