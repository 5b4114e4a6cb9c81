"""Screenshot tools/gradio_demo.py after a conversation (for the docs).

    python tools/misc/gradio_screenshot.py URL OUT.png QUESTION [QUESTION ...]

Drives headless Chromium (Debian's ``chromium``) over its DevTools pipe, so
no browser-automation package is needed: types each question, clicks Send,
waits for the answer, then saves the page at 3/4 scale with a 128-colour
palette. Prints every request the page makes outside 127.0.0.1.
"""
import argparse
import base64
import io
import json
import os
import subprocess
import time

from PIL import Image

WIDTH, HEIGHT = 1100, 900


class DevTools:
    """Chromium's DevTools protocol over ``--remote-debugging-pipe``."""

    def __init__(self) -> None:
        to_chrome, self._write = os.pipe()
        self._read, from_chrome = os.pipe()

        def fds() -> None:  # Chromium reads fd 3 and writes fd 4
            a, b = os.dup(to_chrome), os.dup(from_chrome)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            ['chromium', '--headless=new', '--no-sandbox', '--disable-gpu',
             '--remote-debugging-pipe', '--hide-scrollbars',
             f'--window-size={WIDTH},{HEIGHT}', '--no-first-run',
             '--disable-background-networking', '--disable-component-update',
             '--disable-sync', 'about:blank'],
            preexec_fn=fds, close_fds=False, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(to_chrome)
        os.close(from_chrome)
        self._buf, self._id, self.session = b'', 0, None

    def send(self, method: str, **params) -> dict:
        self._id += 1
        msg = dict(id=self._id, method=method, params=params)
        if self.session:
            msg['sessionId'] = self.session
        os.write(self._write, json.dumps(msg).encode() + b'\0')
        while True:
            while b'\0' not in self._buf:
                self._buf += os.read(self._read, 1 << 20)
            raw, self._buf = self._buf.split(b'\0', 1)
            reply = json.loads(raw)
            if reply.get('method') == 'Network.requestWillBeSent':
                url = reply['params']['request']['url']
                if not url.startswith(('http://127.0.0.1', 'data:',
                                       'blob:')):
                    print('non-local request:', url)
            if reply.get('id') == self._id:
                if 'error' in reply:
                    raise RuntimeError(f'{method}: {reply["error"]}')
                return reply.get('result', {})

    def js(self, expression: str):
        return self.send('Runtime.evaluate', expression=expression,
                         returnByValue=True)['result'].get('value')

    def wait(self, expression: str, timeout: float = 300) -> None:
        end = time.time() + timeout
        while not self.js(expression):
            if time.time() > end:
                raise TimeoutError(f'waited {timeout} s for {expression}')
            time.sleep(0.5)

    def open_page(self, url: str) -> None:
        """A new tab on ``url``, once its textbox and image are there."""
        target = self.send('Target.createTarget', url='about:blank')
        self.session = self.send(
            'Target.attachToTarget', targetId=target['targetId'],
            flatten=True)['sessionId']
        self.send('Emulation.setDeviceMetricsOverride', width=WIDTH,
                  height=HEIGHT, deviceScaleFactor=1, mobile=False)
        self.send('Network.enable')
        self.send('Page.navigate', url=url)
        self.wait("document.querySelector('textarea') !== null && "
                  "document.querySelector('img') !== null")
        time.sleep(2)

    def click(self, selector: str, text: str) -> None:
        """Click the ``selector`` element whose text is ``text``."""
        if not self.js(f"""(() => {{
                const x = [...document.querySelectorAll({json.dumps(
                    selector)})].find(e => e.innerText.trim() ===
                                      {json.dumps(text)});
                if (!x) return false;
                x.dispatchEvent(new MouseEvent('mousedown',
                                               {{bubbles: true}}));
                x.click();
                return true;
            }})()"""):
            raise RuntimeError(f'no {selector} reads {text!r}')
        time.sleep(0.5)

    def choose(self, value: str, option: str) -> None:
        """Open the dropdown showing ``value`` and pick ``option``."""
        self.js(f"""(() => {{
            const box = [...document.querySelectorAll('input')].find(
                i => i.value === {json.dumps(value)});
            box.dispatchEvent(new MouseEvent('mousedown', {{bubbles: true}}));
            box.focus();
            box.click();
        }})()""")
        time.sleep(0.5)
        self.click('[role=option]', option)

    def type(self, text: str) -> None:
        """Type ``text`` into the question box."""
        self.js(f"""(() => {{
            const box = document.querySelector('textarea');
            box.value = {json.dumps(text)};
            box.dispatchEvent(new Event('input', {{bubbles: true}}));
        }})()""")
        time.sleep(0.5)

    def answers(self) -> list:
        """The texts of the chat's answers so far."""
        return self.js("[...document.querySelectorAll('.message.bot')]"
                       '.map(m => m.innerText.trim())')

    def close(self) -> None:
        self.send('Browser.close')
        self.proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('url')
    parser.add_argument('out')
    parser.add_argument('questions', nargs='+')
    args = parser.parse_args()

    browser = DevTools()
    browser.open_page(args.url)
    for k, question in enumerate(args.questions):
        browser.type(question)
        browser.click('button', 'Send')
        browser.wait("document.querySelectorAll('.message.bot').length "
                     f'>= {k + 1}')
        time.sleep(3)  # the rest of the answer
    shot = browser.send('Page.captureScreenshot', format='png')
    img = Image.open(io.BytesIO(base64.b64decode(shot['data']))).convert(
        'RGB')
    img = img.resize((img.width * 3 // 4, img.height * 3 // 4),
                     Image.LANCZOS)
    img.quantize(colors=128).save(args.out, optimize=True)
    print(f'{args.out}: {img.width}x{img.height}, '
          f'{os.path.getsize(args.out)} bytes')
    browser.close()


if __name__ == '__main__':
    main()
