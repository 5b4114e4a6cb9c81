"""``python -m llava_mm.tools.inference``: ``tools/inference.py``."""
from llava_mm.tools import run_tool


def main() -> None:
    run_tool('inference.py')


if __name__ == '__main__':
    main()
