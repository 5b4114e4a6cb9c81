"""A web demo: chat with a LLaVA model about an image (gradio).

    pip install -e .[demo]
    python tools/gradio_demo.py [--model NAME] [--port 7860] [--device cpu]
        [--checkpoint PATH] [--tokenizer DIR] [--vision-checkpoint PATH]
        [--dtype fp32|fp16|bf16] [--quantization int8|nf4]

Open http://127.0.0.1:7860 (127.0.0.1 only, no share link, no analytics).
One model is loaded at a time and shared by all sessions; answers are
generated one at a time, and every session keeps its own conversation. The
page offers the models of the index (default: the shipped shapes model, so
it runs offline); --checkpoint, --tokenizer and --vision-checkpoint are
local copies of --model's files. It reads no file but the images uploaded
to it (docs/safety.md).
"""
import argparse
import atexit
import os
import os.path as osp
import shutil
import signal
import tempfile
import threading
from typing import Iterator, List, Optional, Tuple

# Before gradio is imported: no telemetry, no version check.
os.environ['GRADIO_ANALYTICS_ENABLED'] = 'False'
os.environ.setdefault('HF_HUB_DISABLE_TELEMETRY', '1')

import gradio as gr  # noqa: E402
from gradio.utils import get_upload_folder, is_in_or_equal  # noqa: E402
from gradio_client.utils import is_file_obj_with_meta  # noqa: E402
from PIL import Image, UnidentifiedImageError  # noqa: E402

from llava_mm import LlavaChat, get_model, list_models  # noqa: E402
from llava_mm.apis.chat import DEFAULT_MAX_NEW_TOKENS, DEFAULT_TEMPERATURE  # noqa: E402
from llava_mm.apis.cli import (  # noqa: E402
    CLI_FLAGS,
    add_model_args,
    model_args_problem,
    model_kwargs,
)
from llava_mm.apis.model_index import package_root  # noqa: E402
from llava_mm.conversation import Conversation  # noqa: E402
from llava_mm.datasets.image_modes import (
    IMAGE_MODES,  # noqa: E402
    square_image,  # noqa: E402
)
from llava_mm.utils.errors import cli_wording  # noqa: E402

DEFAULT_MODEL = 'llava-tiny-shapes_vqa'
# The official LLaVA web demo's top_p (its CLI sets none).
DEMO_TOP_P = 0.7
# Larger images are refused before they are decoded.
DEFAULT_MAX_PIXELS = 40_000_000
EXAMPLE_QUESTIONS = ('What colour is the circle?',
                     'Is the circle on the left or the right?',
                     'Provide a one-sentence caption for the provided image.')
NOT_UPLOADED = ('Refused: the image must be a file uploaded to this demo '
                '(drop it on the page, or send it with '
                'gradio_client.handle_file); {what} was not.')


class Refusal(gr.Error):
    """A message for the page about the visitor's input (the server's
    console gets no traceback for it)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, print_exception=False)


class SharedModel:
    """The one model of the demo, loaded on first use, swapped on demand.

    Args:
        args (argparse.Namespace): The options of ``add_model_args``; the
            local files are for ``args.model`` only.
    """

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.name, self.model = None, None
        self.lock = threading.Lock()  # one generation (or load) at a time

    def get(self, name: str):
        """The model called ``name``, loading it (and dropping the old one)
        if needed; a model that cannot load gets a message for the page.
        Call with ``lock`` held."""
        if name == self.name:
            return self.model
        options = self.args if name == self.args.model else \
            argparse.Namespace(**dict(vars(self.args), checkpoint=None,
                                      tokenizer=None, vision_checkpoint=None))
        restart = f'python tools/gradio_demo.py --model {name}'
        problem = model_args_problem(name, options)
        if problem is not None:
            raise Refusal(f'Cannot load {name} here: {problem} (start the '
                          f'demo with `{restart} ...`)')
        self.name, self.model = None, None  # free it before loading
        flags = {k: f'{restart} {v}' for k, v in CLI_FLAGS.items()}
        try:
            with cli_wording(flags):
                self.model = get_model(name, **model_kwargs(options))
        except Exception as e:  # shown in the page; the server stays up
            raise gr.Error(f'Cannot load {name}: {e}') from e
        self.name = name
        return self.model


class Session:
    """What one browser session keeps: its conversation, its messages (all
    of them, also the turns the model no longer sees) and the (path, mode)
    of the image the conversation is about."""

    def __init__(self) -> None:
        self.conversation = Conversation()
        self.messages: List[dict] = []
        self.image_key: Optional[Tuple[str, str]] = None


def uploaded_image(upload, max_pixels: int) -> str:
    """The path of an image uploaded to this demo, checked from its header.

    Anything else (a bare ``{"path": ...}``, a path outside gradio's upload
    folder) is refused before it is opened.

    Args:
        upload: The image component's raw value (the events do not let
            gradio decode it, so every refusal is ours).
        max_pixels (int): Largest image accepted.

    Returns:
        str: The resolved path.
    """
    if not upload:
        raise Refusal('Upload an image first: the model answers questions '
                      'about an image.')
    path = upload.get('path') if is_file_obj_with_meta(upload) else None
    if not isinstance(path, str) or not is_in_or_equal(
            path, get_upload_folder()):
        raise Refusal(NOT_UPLOADED.format(what=repr(upload)[:200]))
    path, name = osp.realpath(path), upload.get('orig_name') or 'the file'
    try:
        with Image.open(path) as im:  # reads the header only
            w, h = im.size
    except Image.DecompressionBombError as e:
        raise Refusal(f'{name} is too large to open safely ({e}). Resize '
                      'it and upload it again.') from e
    except (UnidentifiedImageError, OSError) as e:
        raise Refusal(f'{name} is not an image file that can be read '
                      '(PNG, JPEG, WebP, ...). Upload an image.') from e
    if w * h > max_pixels:
        raise Refusal(f'{name} is {w}x{h} ({w * h / 1e6:.0f} MP); this '
                      f'demo takes up to {max_pixels / 1e6:.0f} MP. Resize '
                      'it and upload it again.')
    return path


def check_settings(model_name, sliders: List[Tuple[gr.Slider, object]],
                   models: List[str]) -> None:
    """Refuse a model that is not listed, or a setting out of its slider's
    range, before anything changes."""
    if model_name not in models:
        raise Refusal(f'Unknown model {repr(model_name)[:100]}: pick one '
                      f'of {models}.')
    for slider, value in sliders:
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not slider.minimum <= value <= slider.maximum:
            raise Refusal(f'{slider.label} must be a number from '
                          f'{slider.minimum} to {slider.maximum}, got '
                          f'{repr(value)[:100]}.')


def stream_answer(session: Session, stream: Iterator[str],
                  conversation: Conversation
                  ) -> Iterator[Tuple[List[dict], Session, str]]:
    """Stream an answer into the session's last message. Stop (which closes
    this generator) closes the stream: generation stops at the next token
    and the text so far is the answer; a turn that got no text is dropped
    from the page as from the conversation."""
    turns = len(conversation.turns)
    try:
        for piece in stream:
            session.messages[-1]['content'] += piece
            yield session.messages, session, ''
    finally:
        stream.close()
        if len(conversation.turns) < turns:
            del session.messages[-2:]
    yield session.messages, session, ''


def build_demo(shared: SharedModel, default_model: str = DEFAULT_MODEL,
               max_pixels: int = DEFAULT_MAX_PIXELS,
               default_image: Optional[str] = None) -> gr.Blocks:
    """The page: image, model picker, settings, examples and the chat.

    Args:
        shared (SharedModel): The model all sessions use.
        default_model (str): The model picked when a page opens.
        max_pixels (int): Largest image accepted.
        default_image (str, optional): The image shown when a page opens.

    Returns:
        gr.Blocks: The app (not launched).
    """
    models = list_models()

    def chat_for(model_name, session, temperature, top_p, max_new_tokens):
        check_settings(model_name, [(temperature_c, temperature),
                                    (top_p_c, top_p),
                                    (max_new_tokens_c, max_new_tokens)],
                       models)
        return LlavaChat(shared.get(model_name), temperature=temperature,
                         top_p=top_p, max_new_tokens=int(max_new_tokens),
                         conversation=session.conversation)

    def respond(question, image, model_name, mode, temperature, top_p,
                max_new_tokens, session):
        session = session or Session()
        if not isinstance(question, str) or not question.strip():
            raise Refusal('Type a question.')
        path = uploaded_image(image, max_pixels)
        if mode not in IMAGE_MODES:
            raise Refusal(f'Image process mode {repr(mode)[:100]}: pick '
                          f'one of {list(IMAGE_MODES)}.')
        with shared.lock:
            chat = chat_for(model_name, session, temperature, top_p,
                            max_new_tokens)
            try:
                if session.image_key != (path, mode):
                    chat.reset(image=square_image(
                        path, mode, chat.model.cfg.test_pipeline))
                    session.messages, session.image_key = [], (path, mode)
                stream = chat.stream(question)
            except (OSError, ValueError) as e:  # image or question refused
                raise Refusal(str(e)) from e
            if chat.dropped_turns:
                gr.Info('The conversation outgrew the model\'s context: '
                        'it no longer sees the oldest turn(s).')
            session.messages += [
                dict(role='user', content=question.strip()),
                dict(role='assistant', content='')]
            yield from stream_answer(session, stream, chat.conversation)

    def regenerate(model_name, temperature, top_p, max_new_tokens, session):
        if session is None or not session.conversation.history:
            raise Refusal('Nothing to regenerate yet: ask a question first.')
        with shared.lock:
            chat = chat_for(model_name, session, temperature, top_p,
                            max_new_tokens)
            try:
                stream = chat.regenerate()
            except ValueError as e:
                raise Refusal(str(e)) from e
            session.messages[-1]['content'] = ''
            yield from stream_answer(session, stream, chat.conversation)

    def clear(session: Optional[Session]) -> Tuple[List[dict], Session]:
        return [], Session()

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
                mode = gr.Radio(
                    list(IMAGE_MODES), value='Default',
                    label='Image process mode',
                    info='for non-square images; Default is the model\'s '
                    'own (Pad for LLaVA-1.5)')
                model = gr.Dropdown(models, value=default_model,
                                    label='Model')
                with gr.Accordion('Generation', open=True):
                    temperature_c = gr.Slider(0, 1, DEFAULT_TEMPERATURE,
                                              step=0.1, label='Temperature')
                    top_p_c = gr.Slider(0.1, 1, DEMO_TOP_P, step=0.1,
                                        label='Top P')
                    max_new_tokens_c = gr.Slider(
                        1, 1024, DEFAULT_MAX_NEW_TOKENS, step=1,
                        label='Max new tokens')
            with gr.Column(scale=2):
                chatbot = gr.Chatbot(label='Conversation', height=520,
                                     buttons=['copy', 'copy_all'])
                question = gr.Textbox(placeholder='Ask about the image',
                                      show_label=False)
                with gr.Row():
                    send = gr.Button('Send', variant='primary', min_width=80)
                    again = gr.Button('Regenerate', min_width=80)
                    stop = gr.Button('Stop', min_width=80)
                    reset = gr.Button('Clear', min_width=80)
                shapes = str(package_root() / 'demo' / 'shapes.png')
                gr.Examples([[shapes, q] for q in EXAMPLE_QUESTIONS],
                            [image, question], label='Examples')
        settings = [temperature_c, top_p_c, max_new_tokens_c, session]
        inputs = [question, image, model, mode] + settings
        outputs = [chatbot, session, question]
        # preprocess=False: the image arrives as its upload record, so an
        # unreadable or huge file gets our message, not a decoding error;
        # every input is checked by the events themselves (above).
        events = [
            question.submit(respond, inputs, outputs, api_name=False,
                            preprocess=False),
            send.click(respond, inputs, outputs, api_name='respond',
                       preprocess=False),
            again.click(regenerate, [model] + settings, outputs,
                        api_name='regenerate', preprocess=False)]
        stop.click(None, cancels=events, api_name=False)
        reset.click(clear, [session], [chatbot, session], api_name='clear')
        model.change(clear, [session], [chatbot, session], api_name=False)
    return demo


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('--model', default=DEFAULT_MODEL,
                        help='model picked when a page opens, a name from '
                        'list_models() (default: %(default)s)')
    parser.add_argument('--image', default=str(package_root() / 'demo' /
                                               'shapes.png'),
                        help='image shown when a page opens (default: the '
                        'demo image)')
    parser.add_argument('--port', type=int, default=7860)
    add_model_args(parser)
    parser.add_argument('--max-image-pixels', type=int,
                        default=DEFAULT_MAX_PIXELS,
                        help='larger images are refused (default: '
                        '%(default)s)')
    return parser.parse_args()


def private_upload_folder() -> None:
    """Send gradio's uploads (and its copies of the page's images) to a
    folder of this process, removed when it ends (also by SIGTERM), unless
    ``GRADIO_TEMP_DIR`` names one."""
    if os.environ.get('GRADIO_TEMP_DIR'):
        return
    folder = tempfile.mkdtemp(prefix='llava_mm_demo_')
    os.environ['GRADIO_TEMP_DIR'] = folder
    atexit.register(shutil.rmtree, folder)

    def terminate(signum, frame) -> None:
        shutil.rmtree(folder)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    signal.signal(signal.SIGTERM, terminate)


def main() -> None:
    args = parse_args()
    if args.model not in list_models():
        raise SystemExit(f'error: --model {args.model}: the demo serves the '
                         f'models of the index only, one of {list_models()} '
                         '(a config file is code: run it with '
                         'tools/chat.py CONFIG --checkpoint PATH).')
    problem = model_args_problem(args.model, args)
    if problem is None and not osp.isfile(args.image):
        problem = f'--image {args.image}: no such file.'
    if problem is not None:
        raise SystemExit(f'error: {problem}')
    private_upload_folder()
    shared = SharedModel(args)
    with shared.lock:
        try:  # load before the first visitor waits
            shared.get(args.model)
        except gr.Error as e:
            raise SystemExit(f'error: {e.message}') from e
    demo = build_demo(shared, args.model, args.max_image_pixels, args.image)
    demo.queue(default_concurrency_limit=1)
    demo.launch(server_name='127.0.0.1', server_port=args.port, share=False,
                ssr_mode=False, mcp_server=False, show_error=True,
                max_file_size='50mb', footer_links=[])


if __name__ == '__main__':
    main()
