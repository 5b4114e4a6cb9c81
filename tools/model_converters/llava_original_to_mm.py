"""Convert an original LLaVA checkpoint (liuhaotian/llava-v1.5-7b layout)
plus a transformers CLIP directory to one OpenMMLab-layout checkpoint.

    python tools/model_converters/llava_original_to_mm.py \
        LLAVA_DIR CLIP_DIR DST.pth
"""
import argparse

import torch

from llava_mm.converters.to_mm import convert_llava_original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('src', help='original LLaVA directory')
    parser.add_argument('clip', help='transformers CLIP model directory, '
                        'e.g. openai/clip-vit-large-patch14-336')
    parser.add_argument('dst', help='output .pth')
    args = parser.parse_args()
    state = convert_llava_original(args.src, args.clip)
    torch.save(state, args.dst)
    print(f'Wrote {len(state)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
