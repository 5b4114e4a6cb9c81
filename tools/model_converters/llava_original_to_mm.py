"""Convert an original LLaVA checkpoint (liuhaotian layout) to one
OpenMMLab-layout checkpoint. LLaVA-1.5 files need the transformers CLIP
directory of their (frozen) vision tower; LLaVA-1.6 files hold their own.

    python tools/model_converters/llava_original_to_mm.py \
        LLAVA_V15_DIR CLIP_DIR DST.pth
    python tools/model_converters/llava_original_to_mm.py \
        LLAVA_V16_DIR DST.pth
"""
import argparse

import torch

from llava_mm.converters.to_mm import convert_llava_original


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='original LLaVA directory')
    parser.add_argument('paths', nargs='+', metavar='[CLIP_DIR] DST',
                        help='the transformers CLIP model directory (e.g. '
                        'openai/clip-vit-large-patch14-336; not for '
                        'LLaVA-1.6), then the output .pth')
    args = parser.parse_args()
    if len(args.paths) > 2:
        parser.error('give at most CLIP_DIR and DST after SRC.')
    clip, dst = (None, *args.paths) if len(args.paths) == 1 else args.paths
    state = convert_llava_original(args.src, clip)
    torch.save(state, dst)
    print(f'Wrote {len(state)} tensors to {dst}')


if __name__ == '__main__':
    main()
