"""Turn a training checkpoint into a release file (OpenMMLab layout).

Keeps only the model's state dict (keys ``model.vision_tower.*``,
``model.lang_encoder.*``), optionally cast to bf16/fp16, and appends the first
8 hex digits of the file's SHA-256 to the name, as OpenMMLab releases do::

    python tools/model_converters/publish_model.py \
        work_dirs/llava-tiny-shapes_train/iter_2000.pth \
        checkpoints/llava-tiny-shapes/llava-tiny-shapes.pth
    # -> checkpoints/llava-tiny-shapes/llava-tiny-shapes-1a2b3c4d.pth
"""
import argparse
import hashlib
import os
import os.path as osp

import torch

from llava_mm.constants import LM_PREFIX
from llava_mm.models.loading import read_state_dict
from llava_mm.utils.dtypes import to_torch_dtype


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='checkpoint from tools/train.py')
    parser.add_argument('dst', help='output file; the hash is appended')
    parser.add_argument('--dtype', default='fp32',
                        choices=['fp32', 'bf16', 'fp16'],
                        help='dtype of floating tensors (default: fp32)')
    parser.add_argument('--no-hash', action='store_true',
                        help='do not append the hash to the file name')
    return parser.parse_args(argv)


def publish(src: str, dst: str, dtype: str = 'fp32',
            add_hash: bool = True) -> str:
    """Write the model weights of ``src`` to ``dst`` (plus hash).

    Args:
        src (str): A Runner checkpoint or a state dict file.
        dst (str): Output path ending in ``.pth``.
        dtype (str): ``'fp32'``, ``'bf16'`` or ``'fp16'``.
        add_hash (bool): Append ``-<sha256[:8]>`` to the file name.

    Returns:
        str: The path written.
    """
    if not dst.endswith('.pth'):
        raise ValueError(f'The output name must end in .pth, got {dst!r}.')
    cast = to_torch_dtype(dtype)
    state = {k: (v.to(cast) if v.is_floating_point() else v).contiguous()
             for k, v in read_state_dict(src).items()}
    if not any(k.startswith(LM_PREFIX) for k in state):
        raise KeyError(f'{src} holds no model.lang_encoder.* keys; it is not '
                       'a LLaVA checkpoint in the OpenMMLab layout.')
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    torch.save(state, dst)
    if not add_hash:
        return dst
    with open(dst, 'rb') as f:
        sha = hashlib.sha256(f.read()).hexdigest()[:8]
    final = f'{dst[:-4]}-{sha}.pth'
    os.replace(dst, final)
    return final


def main(argv=None) -> None:
    """Entry point."""
    args = parse_args(argv)
    path = publish(args.src, args.dst, args.dtype, not args.no_hash)
    print(f'{path} ({osp.getsize(path) / 2**20:.1f} MiB)')


if __name__ == '__main__':
    main()
