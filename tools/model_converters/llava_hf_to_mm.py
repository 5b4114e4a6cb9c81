"""Convert a transformers LlavaForConditionalGeneration (LLaVA-1.5) or
LlavaNextForConditionalGeneration (LLaVA-1.6) directory, llava-hf layout, to
one OpenMMLab-layout checkpoint that llava_mm loads.

    python tools/model_converters/llava_hf_to_mm.py SRC_DIR DST.pth

get_model(..., pretrained=SRC_DIR) and tools/*.py --checkpoint SRC_DIR read
the directory as it is (converted in memory); a file loads faster.
"""
import argparse

import torch

from llava_mm.converters.to_mm import convert_llava_hf
from llava_mm.utils.dtypes import to_torch_dtype


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('src', help='transformers LLaVA (or LLaVA-NeXT) '
                        'directory')
    parser.add_argument('dst', help='output .pth')
    parser.add_argument('--vocab-size', type=int, default=None,
                        help='text vocabulary to keep (default: the '
                        "config's image_token_id)")
    parser.add_argument('--dtype', choices=['fp16', 'bf16', 'fp32'],
                        default=None, help='cast floating tensors')
    args = parser.parse_args()
    state = convert_llava_hf(args.src, args.vocab_size)
    if args.dtype:
        dtype = to_torch_dtype(args.dtype)
        for k, v in state.items():
            if v.is_floating_point():
                state[k] = v.to(dtype)
    torch.save(state, args.dst)
    print(f'Wrote {len(state)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
