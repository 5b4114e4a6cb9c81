"""``python -m llava_mm.tools.gradio_demo``: ``tools/gradio_demo.py``."""
from llava_mm.tools import run_tool


def main() -> None:
    run_tool('gradio_demo.py')


if __name__ == '__main__':
    main()
