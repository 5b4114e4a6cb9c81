"""Caption an image, or ask a question about it, from the command line.

    python tools/inference.py IMAGE MODEL [--prompt TEXT] [--checkpoint PATH]

MODEL is a name from `list_models()` or a config file.
"""
import argparse
import json

from llava_mm import get_model, inference_model


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('image', help='image file')
    parser.add_argument('model', help='model name or config file')
    parser.add_argument('--prompt', default=None,
                        help='question (VQA models) or a custom caption '
                        'instruction')
    parser.add_argument('--checkpoint', default=None,
                        help='checkpoint path/URL (default: the model '
                        "index's weights; required for a config file)")
    parser.add_argument('--device', default=None, help='e.g. cuda:0, cpu')
    parser.add_argument('--dtype', default=None,
                        choices=['fp32', 'fp16', 'bf16'])
    parser.add_argument('--max-new-tokens', type=int, default=None)
    parser.add_argument('--num-beams', type=int, default=None)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    model = get_model(args.model, pretrained=args.checkpoint or True,
                      device=args.device, dtype=args.dtype)
    gen = {k: v for k, v in dict(max_new_tokens=args.max_new_tokens,
                                 num_beams=args.num_beams).items()
           if v is not None}
    result = inference_model(model, args.image, args.prompt, **gen)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == '__main__':
    main()
