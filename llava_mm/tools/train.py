"""``python -m llava_mm.tools.train``: ``tools/train.py``."""
from llava_mm.tools import run_tool


def main() -> None:
    run_tool('train.py')


if __name__ == '__main__':
    main()
