"""Generate the synthetic "shapes" dataset in COCO caption + VQAv2 formats.

Example::

    python projects/tiny_shapes/make_shapes.py --out data/shapes \
        --split train --num-images 8000 --seed 0
    python projects/tiny_shapes/make_shapes.py --out data/shapes \
        --split test         --num-images 500 --seed 2024

See :mod:`tiny_shapes.generator` for what is drawn and asked.
"""
import argparse
import json
import time

from tiny_shapes.generator import make_shapes
from tiny_shapes.tokenizer import train_shapes_tokenizer


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='data/shapes',
                        help='dataset root (default: data/shapes)')
    parser.add_argument('--num-images', type=int, default=1000,
                        help='number of images (default: 1000)')
    parser.add_argument('--seed', type=int, default=0,
                        help='random seed (default: 0)')
    parser.add_argument('--split', default='train',
                        help='split name used in file names (default: train)')
    parser.add_argument('--image-size', type=int, default=64,
                        help='image side in pixels (default: 64)')
    parser.add_argument('--start-id', type=int, default=0,
                        help='first image id (default: 0)')
    parser.add_argument('--extra-per-family', type=int, default=0,
                        help='extra training questions per question family '
                        'in the LLaVA conversations (see '
                        'tiny_shapes.generator.extra_questions; default: 0)')
    parser.add_argument('--tokenizer-out', default=None,
                        help='also train the shapes tokenizer (seeded by '
                        '--seed) and save it in this folder')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    t0 = time.time()
    paths = make_shapes(args.out, args.num_images, args.seed, args.split,
                        image_size=args.image_size, start_id=args.start_id,
                        extra_per_family=args.extra_per_family)
    with open(paths['questions']) as f:
        n_q = len(json.load(f)['questions'])
    print(f'{args.num_images} images, {n_q} questions written under '
          f'{args.out} in {time.time() - t0:.1f}s:')
    for key, path in paths.items():
        print(f'  {key:10s} {path}')
    if args.tokenizer_out:
        train_shapes_tokenizer(args.tokenizer_out, seed=args.seed)
        print(f'tokenizer saved to {args.tokenizer_out}')


if __name__ == '__main__':
    main()
