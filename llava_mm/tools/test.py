"""``python -m llava_mm.tools.test``: ``tools/test.py``."""
from llava_mm.tools import run_tool


def main() -> None:
    run_tool('test.py')


if __name__ == '__main__':
    main()
