"""``python -m llava_mm.tools.chat``: ``tools/chat.py``."""
from llava_mm.tools import run_tool


def main() -> None:
    run_tool('chat.py')


if __name__ == '__main__':
    main()
