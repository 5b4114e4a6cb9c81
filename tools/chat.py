"""Chat with a LLaVA model about an image in the terminal.

    python tools/chat.py IMAGE [MODEL] [--temperature T] [--top-p P]
        [--max-new-tokens N] [--checkpoint PATH] [--tokenizer DIR]
        [--vision-checkpoint PATH] [--device DEV] [--dtype fp32|fp16|bf16]
        [--quantization int8|nf4]

MODEL is a name from `list_models()` (default: the shipped
llava-tiny-shapes_vqa) or a config file with --checkpoint (a config is
Python code and is run: use only configs you trust). --checkpoint,
--tokenizer and --vision-checkpoint point at local copies of the weights.
Answers stream as they are generated. Commands: /image PATH (a new image,
a new conversation), /reset (forget the conversation, keep the image),
/exit (or Ctrl-D).
"""
import argparse
import sys

from llava_mm import LlavaChat
from llava_mm.apis.cli import (
    add_model_args,
    add_sampling_args,
    model_from_args,
)

COMMANDS = '/image PATH, /reset, /exit'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('image', help='image file')
    parser.add_argument('model', nargs='?', default='llava-tiny-shapes_vqa',
                        help='model name or config file (default: '
                        '%(default)s)')
    add_model_args(parser)
    add_sampling_args(parser)
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
    chat = LlavaChat(model_from_args(args.model, args),
                     temperature=args.temperature, top_p=args.top_p,
                     max_new_tokens=args.max_new_tokens)
    if not set_image(chat, args.image):
        return 2
    print(f'Chatting about {args.image} with {args.model}. Commands: '
          f'{COMMANDS}.', flush=True)
    # Bytes that are not UTF-8 reach the chat as lone surrogates, which it
    # refuses with a message (the session goes on).
    sys.stdin.reconfigure(errors='surrogateescape')
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
