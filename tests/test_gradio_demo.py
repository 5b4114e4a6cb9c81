"""tools/gradio_demo.py launched on localhost with the shipped model and
driven through gradio_client and raw HTTP (needs the ``demo`` extra)."""
import importlib.util
import json
import os
import os.path as osp
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest
from PIL import Image

gradio_client = pytest.importorskip('gradio_client')
httpx = pytest.importorskip('httpx')

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(ROOT, 'demo', 'shapes.png')  # red circle left, blue square
SHIPPED = osp.join(ROOT, 'checkpoints', 'llava-tiny-shapes')
VQA, CAPTION = 'llava-tiny-shapes_vqa', 'llava-tiny-shapes_caption'
CAPTION_Q = 'Provide a one-sentence caption for the provided image.'
DEMO_CAPTION = 'a small red circle and a large blue square.'  # greedy
# temperature 0 (greedy), top_p, max_new_tokens
GREEDY = (0, 0.7, 512)
NOT_UPLOADED = 'Refused: the image must be a file uploaded to this demo'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


# Runs the demo with an audit hook that reports every network lookup or
# connection to a host other than this machine (gradio must not phone home)
# and every file opened under $DEMO_TEST_WATCH. While the file
# $DEMO_TEST_GATE exists, an answer is held after its first words (up to
# 5 s), so that a test can stop it half-way.
LAUNCH = '''
import os, runpy, sys, time
LOCAL = (None, '127.0.0.1', 'localhost', '::1', '0.0.0.0')
WATCH = os.environ['DEMO_TEST_WATCH'].split(os.pathsep)
GATE = os.environ['DEMO_TEST_GATE']
def hook(event, args):
    if event == 'socket.getaddrinfo' and args[0] not in LOCAL or (
            event == 'socket.connect' and isinstance(args[1], tuple)
            and args[1][0] not in LOCAL):
        print('NON-LOCAL NETWORK', event, args[:2], flush=True)
    if event == 'open' and isinstance(args[0], str) and any(
            os.path.abspath(args[0]).startswith(w) for w in WATCH):
        print('OPENED', os.path.abspath(args[0]), flush=True)
sys.addaudithook(hook)
from transformers import TextIteratorStreamer
put = TextIteratorStreamer.put
def held_put(self, value):
    self.puts = getattr(self, 'puts', 0) + 1
    end = time.time() + 5
    while self.puts > 3 and os.path.exists(GATE) and time.time() < end:
        time.sleep(0.02)
    put(self, value)
TextIteratorStreamer.put = held_put
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    """The demo with local copies of the shipped files as --checkpoint and
    --tokenizer, a secret image it must never read, and its log."""
    watch = tmp_path_factory.mktemp('watch')
    weights = watch / 'weights'
    shutil.copytree(SHIPPED, weights)
    (watch / 'secret').mkdir()
    shutil.copy(DEMO, watch / 'secret' / 'private.png')
    port = free_port()
    log = watch / 'server.log'
    uploads = osp.join(tempfile.gettempdir(), 'llava_mm_demo_')
    env = dict(os.environ, PYTHONPATH=ROOT, DEMO_TEST_WATCH=os.pathsep.join(
        [str(watch), SHIPPED, uploads]), DEMO_TEST_GATE=str(watch / 'gate'))
    env.pop('GRADIO_TEMP_DIR', None)
    with open(log, 'w') as out:
        proc = subprocess.Popen(
            [sys.executable, '-c', LAUNCH,
             osp.join(ROOT, 'tools', 'gradio_demo.py'), '--port', str(port),
             '--checkpoint', str(next(weights.glob('*.pth'))),
             '--tokenizer', str(weights / 'tokenizer')],
            stdout=out, stderr=subprocess.STDOUT, env=env)
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
        yield dict(url=url, log=log, watch=watch)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    # Its private upload folder went with it.
    uploads = re.findall(r'OPENED (\S*llava_mm_demo_[^/]+)/', log.read_text())
    assert uploads and not osp.exists(uploads[0])


def client(url):
    return gradio_client.Client(url, verbose=False)


def texts(messages):
    return [(m['role'], m['content'][0]['text']) for m in messages]


def ask(c, question, image=DEMO, model=VQA, mode='Default',
        settings=GREEDY):
    """Send a question; the final chat messages as (role, text) pairs, and
    how many updates streamed in."""
    image = None if image is None else gradio_client.handle_file(image)
    job = c.submit(question, image, model, mode, *settings,
                   api_name='/respond')
    messages, _ = job.result(timeout=300)
    return texts(messages), len(job.outputs())


def post(url, api, data):
    """Call an API of the demo with plain HTTP; its last SSE event and
    data."""
    with httpx.Client(base_url=url + 'gradio_api/', timeout=60) as http:
        event = http.post(f'call/{api}', content=json.dumps(dict(data=data)),
                          headers={'content-type': 'application/json'})
        event.raise_for_status()
        reply = http.get(f'call/{api}/{event.json()["event_id"]}').text
    kind, data = re.findall(r'event: (\w+)\ndata: (.*)', reply)[-1]
    return kind, json.loads(data)


def upload(url, path):
    """Upload a file with plain HTTP; its FileData for an API call."""
    with httpx.Client(timeout=60) as http, open(path, 'rb') as f:
        reply = http.post(url + 'gradio_api/upload', files=dict(files=f))
    return {'path': reply.json()[0], 'meta': {'_type': 'gradio.FileData'}}


def test_two_sessions_keep_their_own_conversation(server):
    a, b = client(server['url']), client(server['url'])
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
    # --checkpoint and --tokenizer are the files the model came from.
    opened = server['log'].read_text()
    weights = server['watch'] / 'weights'
    assert f'OPENED {next(weights.glob("*.pth"))}' in opened
    assert f'OPENED {weights / "tokenizer" / "tokenizer.json"}' in opened


def test_bad_input_gets_a_message_and_the_server_stays_up(server, tmp_path):
    c = client(server['url'])
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
    with pytest.raises(gradio_client.exceptions.AppError,
                       match='Max new tokens must be a number from 1 to '
                       '1024, got 5000'):
        ask(c, 'What colour is the circle?', settings=(0, 0.7, 5000))
    # A lone surrogate (JSON can carry one; gradio_client cannot).
    kind, data = post(server['url'], 'respond', [
        'What \ud800colour?', upload(server['url'], DEMO), VQA, 'Default',
        *GREEDY])
    assert kind == 'error' and 'lone surrogate at character 5' in str(data)
    got, _ = ask(c, 'What colour is the circle?')
    assert got == [('user', 'What colour is the circle?'),
                   ('assistant', 'red')]


def test_only_uploaded_files_are_read(server):
    """An image given by its path on the server is refused unread, through
    gradio_client and plain HTTP, with or without gradio's file marker."""
    secret = str(server['watch'] / 'secret' / 'private.png')
    c = client(server['url'])
    with pytest.raises(gradio_client.exceptions.AppError,
                       match=re.escape(NOT_UPLOADED)):
        c.submit('What colour is the circle?', {'path': secret}, VQA,
                 'Default', *GREEDY, api_name='/respond').result(timeout=60)
    uploaded = upload(server['url'], DEMO)  # a real upload, for its folder
    meta = uploaded['meta']
    depth = uploaded['path'].count('/')
    for payload in [{'path': secret}, {'path': secret, 'meta': meta},
                    {'path': osp.dirname(uploaded['path']) + '/..' * depth
                     + secret,
                     'meta': meta}, {'url': 'file://' + secret},
                    secret]:
        kind, data = post(server['url'], 'respond', [
            'What colour is the circle?', payload, VQA, 'Default', *GREEDY])
        # Refused by the demo, or by gradio before it (a marked file, a
        # value that is no file record).
        assert kind == 'error' and re.search(
            'Refused|not uploaded by a user|validation error for ImageData',
            str(data)), (payload, data)
    assert f'OPENED {secret}' not in server['log'].read_text()
    # The same request with the uploaded file is answered.
    kind, data = post(server['url'], 'respond', [
        'What colour is the circle?', uploaded, VQA, 'Default', *GREEDY])
    assert kind == 'complete' and texts(data[0])[-1] == ('assistant', 'red')


def test_only_listed_models_load(server):
    """A model name not in the dropdown changes nothing: no config is run,
    the loaded model stays."""
    watch = server['watch']
    evil = watch / 'evil.py'
    evil.write_text(f'open({str(watch / "ran")!r}, "w").close()\n')
    c = client(server['url'])
    ask(c, 'What colour is the circle?')
    loads = server['log'].read_text().count('.pth\n')
    for name in [str(evil), osp.relpath(evil), 'configs/llava/'
                 'llava-tiny-shapes_vqa.py', 'nope', ['x']]:
        with pytest.raises(gradio_client.exceptions.AppError,
                           match='Unknown model'):
            ask(c, 'What colour is the circle?', model=name)
        kind, data = post(server['url'], 'respond', [
            'What colour is the circle?', upload(server['url'], DEMO), name,
            'Default', *GREEDY])
        assert kind == 'error' and 'Unknown model' in str(data)
    assert not (watch / 'ran').exists()
    # A listed model that cannot load here says how to start the demo.
    with pytest.raises(gradio_client.exceptions.AppError,
                       match=r'Cannot load llava-13b-v1.5_vqa here: .*add '
                       r'--checkpoint PATH. \(start the demo with `python '
                       r'tools/gradio_demo.py --model llava-13b-v1.5_vqa'):
        ask(c, 'What colour is the circle?', model='llava-13b-v1.5_vqa')
    got, _ = ask(c, 'What colour is the square?')
    assert got[-2:] == [('user', 'What colour is the square?'),
                        ('assistant', 'blue')]
    assert server['log'].read_text().count('.pth\n') == loads


def test_model_picker_and_streaming(server):
    c = client(server['url'])
    got, updates = ask(c, CAPTION_Q, model=CAPTION)
    assert got[1] == ('assistant', DEMO_CAPTION)
    assert updates > 3  # the caption arrived word by word


def test_stop_keeps_the_words_so_far_and_regenerate(server):
    c = client(server['url'])
    with pytest.raises(gradio_client.exceptions.AppError,
                       match='Nothing to regenerate yet'):
        c.predict(CAPTION, *GREEDY, api_name='/regenerate')
    gate = server['watch'] / 'gate'
    gate.touch()  # hold the answer after its first words
    try:
        job = c.submit(CAPTION_Q, gradio_client.handle_file(DEMO), CAPTION,
                       'Default', *GREEDY, api_name='/respond')
        deadline = time.time() + 60
        while not job.outputs() and time.time() < deadline:
            time.sleep(0.02)
        threading.Timer(0.5, gate.unlink, kwargs=dict(missing_ok=True)).start()
        job.cancel()  # what the page's Stop button does
        while not job.done() and time.time() < deadline:
            time.sleep(0.02)
    finally:
        gate.unlink(missing_ok=True)
    # The words that arrived before Stop are the answer.
    stopped = texts(job.outputs()[-1][0])
    assert stopped[0] == ('user', CAPTION_Q)
    assert stopped[1][1] and DEMO_CAPTION.startswith(stopped[1][1])
    assert len(stopped[1][1]) < len(DEMO_CAPTION)
    # The session kept the stopped turn: Regenerate answers it again.
    got = texts(c.predict(CAPTION, *GREEDY, api_name='/regenerate')[0])
    assert got == [('user', CAPTION_Q), ('assistant', DEMO_CAPTION)]
    got, _ = ask(c, 'What colour is the circle?', model=CAPTION)
    assert len(got) == 4 and got[:2] == [('user', CAPTION_Q),
                                         ('assistant', DEMO_CAPTION)]


def test_page_has_examples_stop_and_image_modes(server, tmp_path):
    c = client(server['url'])
    config = c.config
    components = {x['id']: x for x in config['components']}
    examples = [x for x in components.values() if x['type'] == 'dataset']
    samples = examples[0]['props']['samples']
    assert [s[1] for s in samples][:2] == ['What colour is the circle?',
                                           'Is the circle on the left or '
                                           'the right?']
    assert samples[0][0]['orig_name'] == 'shapes.png'
    buttons = {x['props'].get('value'): x['id'] for x in
               components.values() if x['type'] == 'button'}
    assert {'Send', 'Regenerate', 'Stop', 'Clear'} <= set(buttons)
    deps = config['dependencies']
    stop = [d for d in deps if [buttons['Stop'], 'click'] in d['targets']]
    cancelled = {i for d in stop for i in d['cancels']}
    assert {deps[i]['api_name'] for i in cancelled} >= {'respond',
                                                        'regenerate'}
    # A wide image with the demo scene in its middle third: Crop keeps the
    # scene, Pad (the model's own way, Default) shrinks it into a square.
    wide = Image.new('RGB', (768, 256), (50, 50, 50))
    wide.paste(Image.open(DEMO), (256, 0))
    wide.save(tmp_path / 'wide.png')
    answers = {}
    for mode in ('Crop', 'Pad', 'Default', 'Resize', 'Crop'):
        got, _ = ask(c, CAPTION_Q, str(tmp_path / 'wide.png'), CAPTION, mode)
        assert len(got) == 2  # another mode, another conversation
        answers.setdefault(mode, got[1][1])
        assert got[1][1] == answers[mode]
    assert answers['Crop'] == DEMO_CAPTION
    assert answers['Pad'] == answers['Default'] != answers['Crop']
    assert answers['Resize'] not in (answers['Pad'], answers['Crop'])


@pytest.mark.skipif(shutil.which('chromium') is None,
                    reason="a headless browser needs Debian's chromium")
def test_in_a_browser_example_stop_and_regenerate(server):
    spec = importlib.util.spec_from_file_location(
        'gradio_screenshot',
        osp.join(ROOT, 'tools', 'misc', 'gradio_screenshot.py'))
    screenshot = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(screenshot)
    gate = server['watch'] / 'gate'
    browser = screenshot.DevTools()
    try:
        browser.open_page(server['url'])
        browser.choose(VQA, CAPTION)
        browser.click('tbody tr', CAPTION_Q)  # the third example
        assert browser.js("document.querySelector('textarea').value") == \
            CAPTION_Q
        gate.touch()  # hold the answer after its first words
        browser.click('button', 'Send')
        browser.wait("document.querySelectorAll('.message.bot').length && "
                     "document.querySelector('.message.bot').innerText"
                     ".trim()", 60)
        browser.click('button', 'Stop')
        gate.unlink()
        time.sleep(2)
        stopped = browser.answers()
        assert len(stopped) == 1 and stopped[0]
        assert DEMO_CAPTION.startswith(stopped[0]) and stopped[0] != \
            DEMO_CAPTION
        browser.click('button', 'Regenerate')
        browser.wait("document.querySelector('.message.bot').innerText"
                     f".trim() === {json.dumps(DEMO_CAPTION)}", 60)
        assert browser.answers() == [DEMO_CAPTION]
    finally:
        gate.unlink(missing_ok=True)
        browser.close()


def test_local_only_and_no_phoning_home(server):
    url, log = server['url'], server['log']
    ask(client(url), 'What colour is the circle?')
    text = log.read_text()
    assert f'Running on local URL:  {url}'.rstrip('/') in text
    assert 'NON-LOCAL NETWORK' not in text, text
    # Refusals of visitors' input go to the page, not as tracebacks here.
    assert 'gradio.exceptions.Error' not in text, text
