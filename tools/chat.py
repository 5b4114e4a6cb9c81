"""Chat with a LLaVA model about an image in the terminal.

    python tools/chat.py IMAGE [MODEL] [--temperature T] [--top-p P]
                         [--max-new-tokens N] [--checkpoint PATH]

MODEL is a name from `list_models()` (default: the shipped
llava-tiny-shapes_vqa) or a config file. Answers stream as they are
generated. Commands: /image PATH (a new image, a new conversation),
/reset (forget the conversation, keep the image), /exit (or Ctrl-D).
"""
import argparse
import sys

from llava_mm import LlavaChat, get_model
from llava_mm.apis.chat import (DEFAULT_MAX_NEW_TOKENS, DEFAULT_TEMPERATURE,
                                DEFAULT_TOP_P)

COMMANDS = '/image PATH, /reset, /exit'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('image', help='image file')
    parser.add_argument('model', nargs='?', default='llava-tiny-shapes_vqa',
                        help='model name or config file (default: '
                        '%(default)s)')
    parser.add_argument('--checkpoint', default=None,
                        help='checkpoint path/URL (default: the model '
                        "index's weights; required for a config file)")
    parser.add_argument('--device', default=None, help='e.g. cuda:0, cpu')
    parser.add_argument('--dtype', default=None,
                        choices=['fp32', 'fp16', 'bf16'])
    parser.add_argument('--temperature', type=float,
                        default=DEFAULT_TEMPERATURE,
                        help='0 decodes greedily (default: %(default)s)')
    parser.add_argument('--top-p', type=float, default=DEFAULT_TOP_P,
                        help='nucleus sampling mass (default: %(default)s)')
    parser.add_argument('--max-new-tokens', type=int,
                        default=DEFAULT_MAX_NEW_TOKENS,
                        help='longest answer (default: %(default)s)')
    return parser.parse_args()


def answer(chat: LlavaChat, question: str) -> None:
    """Print the answer as it streams in, or the reason there is none."""
    print('ASSISTANT: ', end='', flush=True)
    try:
        for piece in chat.stream(question):
            print(piece, end='', flush=True)
    except ValueError as e:  # a question the context cannot take
        print(f'\n[error] {e}', flush=True)
        return
    print(flush=True)


def set_image(chat: LlavaChat, path: str) -> bool:
    """Start a new conversation about ``path``; False if it is unusable."""
    try:
        chat.reset(image=path)
    except (OSError, ValueError) as e:
        print(f'[error] {e}', flush=True)
        return False
    return True


def main() -> int:
    args = parse_args()
    model = get_model(args.model, pretrained=args.checkpoint or True,
                      device=args.device, dtype=args.dtype)
    chat = LlavaChat(model, temperature=args.temperature, top_p=args.top_p,
                     max_new_tokens=args.max_new_tokens)
    if not set_image(chat, args.image):
        return 2
    print(f'Chatting about {args.image} with {args.model}. Commands: '
          f'{COMMANDS}.', flush=True)
    while True:
        try:
            line = input('USER: ').strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not line:
            continue
        if line == '/exit':
            return 0
        if line == '/reset':
            chat.reset()
            print('[conversation reset; same image]', flush=True)
        elif line == '/image' or line.startswith('/image '):
            path = line[len('/image'):].strip()
            if not path:
                print('[error] usage: /image PATH', flush=True)
            elif set_image(chat, path):
                print(f'[new image {path}; new conversation]', flush=True)
        elif line.startswith('/'):
            print(f'[error] unknown command {line.split()[0]}; the '
                  f'commands are {COMMANDS}.', flush=True)
        else:
            answer(chat, line)


if __name__ == '__main__':
    sys.exit(main())
