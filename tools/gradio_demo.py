"""A web demo: chat with a LLaVA model about an image (gradio).

    pip install -e .[demo]
    python tools/gradio_demo.py [--model NAME] [--port 7860] [--device cpu]

Open http://127.0.0.1:7860. It listens on 127.0.0.1 only, makes no share
link and sends no analytics. One model is loaded at a time and shared by
all browser sessions; answers are generated one at a time (gradio's queue),
and every session keeps its own conversation. It defaults to the shipped
shapes model, so it runs offline.
"""
import argparse
import os
import threading
from typing import Iterator, List, Optional, Tuple

# Before gradio is imported: no telemetry, no version check.
os.environ['GRADIO_ANALYTICS_ENABLED'] = 'False'
os.environ.setdefault('HF_HUB_DISABLE_TELEMETRY', '1')

import gradio as gr  # noqa: E402
from PIL import Image, UnidentifiedImageError  # noqa: E402

from llava_mm import LlavaChat, get_model, list_models  # noqa: E402
from llava_mm.apis.model_index import package_root  # noqa: E402
from llava_mm.apis.chat import (DEFAULT_MAX_NEW_TOKENS,  # noqa: E402
                                DEFAULT_TEMPERATURE)
from llava_mm.conversation import Conversation  # noqa: E402

DEFAULT_MODEL = 'llava-tiny-shapes_vqa'
# The official LLaVA web demo's top_p (its CLI sets none).
DEMO_TOP_P = 0.7
# Larger images are refused before they are decoded.
DEFAULT_MAX_PIXELS = 40_000_000


class SharedModel:
    """The one model of the demo, loaded on first use, swapped on demand.

    Args:
        device (str, optional): Where to load it.
        dtype (str, optional): Its parameter dtype.
    """

    def __init__(self, device: Optional[str], dtype: Optional[str]) -> None:
        self.device, self.dtype = device, dtype
        self.name, self.model = None, None
        self.lock = threading.Lock()  # one generation (or load) at a time

    def get(self, name: str):
        """The model called ``name``, loading it (and dropping the old one)
        if needed. Call with ``lock`` held."""
        if name != self.name:
            self.name, self.model = None, None
            try:
                self.model = get_model(name, device=self.device,
                                       dtype=self.dtype)
            except Exception as e:  # shown in the page; the server stays up
                raise gr.Error(f'Cannot load {name}: {e}') from e
            self.name = name
        return self.model


class Session:
    """What one browser session keeps: its conversation and its messages
    (all of them, also the turns the model no longer sees)."""

    def __init__(self) -> None:
        self.conversation = Conversation()
        self.messages: List[dict] = []


def check_image(upload: Optional[dict], max_pixels: int) -> str:
    """The uploaded file's path; a missing, unreadable or too large image
    is refused with a message for the page (before it is decoded).

    Args:
        upload (dict, optional): The image component's raw value (the
            event does not let gradio decode it, so every refusal is ours).
        max_pixels (int): Largest image accepted.

    Returns:
        str: The path, for the model's test pipeline to load.
    """
    if not upload or not upload.get('path'):
        raise gr.Error('Upload an image first: the model answers questions '
                       'about an image.')
    path, name = upload['path'], upload.get('orig_name') or 'the file'
    try:
        with Image.open(path) as im:  # reads the header only
            w, h = im.size
    except Image.DecompressionBombError as e:
        raise gr.Error(f'{name} is too large to open safely ({e}). Resize '
                       'it and upload it again.') from e
    except (UnidentifiedImageError, OSError) as e:
        raise gr.Error(f'{name} is not an image file that can be read '
                       '(PNG, JPEG, WebP, ...). Upload an image.') from e
    if w * h > max_pixels:
        raise gr.Error(f'{name} is {w}x{h} ({w * h / 1e6:.0f} MP); this '
                       f'demo takes up to {max_pixels / 1e6:.0f} MP. Resize '
                       'it and upload it again.')
    return path


def build_demo(shared: SharedModel, default_model: str = DEFAULT_MODEL,
               max_pixels: int = DEFAULT_MAX_PIXELS,
               default_image: Optional[str] = None) -> gr.Blocks:
    """The page: image, model picker, settings and the chat.

    Args:
        shared (SharedModel): The model all sessions use.
        default_model (str): The model picked when a page opens.
        max_pixels (int): Largest image accepted.
        default_image (str, optional): The image shown when a page opens.

    Returns:
        gr.Blocks: The app (not launched).
    """

    def respond(question: str, image: Optional[dict], model_name: str,
                temperature: float, top_p: float, max_new_tokens: int,
                session: Optional[Session]
                ) -> Iterator[Tuple[List[dict], Session, str]]:
        session = session or Session()
        if not question or not question.strip():
            raise gr.Error('Type a question.')
        image = check_image(image, max_pixels)
        with shared.lock:
            chat = LlavaChat(shared.get(model_name), temperature=temperature,
                             top_p=top_p, max_new_tokens=int(max_new_tokens),
                             conversation=session.conversation)
            new_image = session.conversation.image != image
            error = None
            try:
                stream = chat.stream(question,
                                     image=image if new_image else None)
            except (OSError, ValueError) as e:  # image or question refused
                error = e
            if new_image and session.conversation.image == image:
                session.messages = []  # a new image, a new conversation
            if error is not None:
                raise gr.Error(str(error)) from error
            if chat.dropped_turns:
                gr.Info('The conversation outgrew the model\'s context: '
                        'it no longer sees the oldest turn(s).')
            session.messages += [
                dict(role='user', content=question.strip()),
                dict(role='assistant', content='')]
            for piece in stream:
                session.messages[-1]['content'] += piece
                yield session.messages, session, ''
        yield session.messages, session, ''

    def clear(session: Optional[Session]) -> Tuple[List[dict], Session]:
        return [], Session()

    models = list_models()
    with gr.Blocks(title='llava_mm chat', analytics_enabled=False) as demo:
        gr.Markdown('## llava_mm: chat about an image\nUpload an image, '
                    'ask a question, then follow up. A new image starts a '
                    'new conversation.')
        session = gr.State(None)
        with gr.Row():
            with gr.Column(scale=1):
                image = gr.Image(default_image, type='filepath',
                                 label='Image',
                                 sources=['upload', 'clipboard'])
                model = gr.Dropdown(models, value=default_model,
                                    label='Model')
                with gr.Accordion('Generation', open=True):
                    temperature = gr.Slider(0, 1, DEFAULT_TEMPERATURE,
                                            step=0.1, label='Temperature')
                    top_p = gr.Slider(0.1, 1, DEMO_TOP_P, step=0.1,
                                      label='Top P')
                    max_new_tokens = gr.Slider(
                        1, 1024, DEFAULT_MAX_NEW_TOKENS, step=1,
                        label='Max new tokens')
            with gr.Column(scale=2):
                chatbot = gr.Chatbot(label='Conversation', height=560,
                                     buttons=['copy', 'copy_all'])
                question = gr.Textbox(placeholder='Ask about the image',
                                      show_label=False)
                with gr.Row():
                    send = gr.Button('Send', variant='primary')
                    reset = gr.Button('Clear')
        inputs = [question, image, model, temperature, top_p,
                  max_new_tokens, session]
        outputs = [chatbot, session, question]
        # preprocess=False: the image arrives as its upload record, so an
        # unreadable or huge file gets our message, not a decoding error.
        question.submit(respond, inputs, outputs, api_name=False,
                        preprocess=False)
        send.click(respond, inputs, outputs, api_name='respond',
                   preprocess=False)
        reset.click(clear, [session], [chatbot, session], api_name='clear')
        model.change(clear, [session], [chatbot, session], api_name=False)
    return demo


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('--model', default=DEFAULT_MODEL,
                        help='model picked when a page opens (default: '
                        '%(default)s)')
    parser.add_argument('--image', default=str(package_root() / 'demo' /
                                               'shapes.png'),
                        help='image shown when a page opens (default: the '
                        'demo image)')
    parser.add_argument('--port', type=int, default=7860)
    parser.add_argument('--device', default=None, help='e.g. cuda:0, cpu')
    parser.add_argument('--dtype', default=None,
                        choices=['fp32', 'fp16', 'bf16'])
    parser.add_argument('--max-image-pixels', type=int,
                        default=DEFAULT_MAX_PIXELS,
                        help='larger images are refused (default: '
                        '%(default)s)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.model not in list_models():
        raise SystemExit(f'Unknown model {args.model!r}; pick one of '
                         f'{list_models()}.')
    shared = SharedModel(args.device, args.dtype)
    with shared.lock:
        shared.get(args.model)  # load before the first visitor waits
    demo = build_demo(shared, args.model, args.max_image_pixels, args.image)
    demo.queue(default_concurrency_limit=1)
    demo.launch(server_name='127.0.0.1', server_port=args.port, share=False,
                ssr_mode=False, mcp_server=False, show_error=True,
                max_file_size='50mb', footer_links=[])


if __name__ == '__main__':
    main()
