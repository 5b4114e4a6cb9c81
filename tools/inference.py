"""Caption images, or ask questions about them, from the command line.

    python tools/inference.py IMAGE [IMAGE ...] MODEL [--prompt TEXT]
        [--batch-size N] [--show-dir DIR] [--out results.jsonl]
    python tools/inference.py MODEL --questions questions.jsonl [...]

IMAGE is a file, a directory (its image files) or a quoted glob such as
'data/*.jpg'. MODEL is a name from `list_models()` or a config file (with
--checkpoint). A VQA model takes its question from --prompt (the same for
every image) or from a JSONL file of {"image": ..., "question": ...} lines
(relative image paths are relative to that file). Results are printed as
JSON: for one image as `inference_model` returns it, for several one line
per image with its path (as --out writes them).
"""
import argparse
import glob
import json
import os.path as osp
import sys
from typing import List, Tuple

from llava_mm.apis.base_inferencer import LlavaInferencer, list_image_dir
from llava_mm.apis.cli import add_model_args, model_from_args
from llava_mm.apis.inference import get_inferencer
from llava_mm.apis.model_index import is_config_path
from llava_mm.utils import third_party
from llava_mm.utils.output_paths import check_not_inputs, check_out_file
from llava_mm.utils.user_errors import run_tool

GLOB_CHARS = '*?['


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('inputs', nargs='*', metavar='IMAGE',
                        help='image files, directories or quoted globs')
    parser.add_argument('model', help='model name or config file')
    parser.add_argument('--prompt', default=None,
                        help='question (VQA models) or a custom caption '
                        'instruction, for every image')
    parser.add_argument('--questions', metavar='FILE.jsonl', default=None,
                        help='VQA: one {"image": ..., "question": ...} per '
                        'line')
    parser.add_argument('--batch-size', type=int, default=1,
                        help='images per forward pass (default 1)')
    parser.add_argument('--show-dir', default=None,
                        help='save each image with its caption or answer '
                        'drawn on it here')
    parser.add_argument('--out', default=None, metavar='FILE.jsonl',
                        help='also write the results to this JSON-lines '
                        'file')
    add_model_args(parser)
    parser.add_argument('--max-new-tokens', type=int, default=None)
    parser.add_argument('--num-beams', type=int, default=None)
    parser.add_argument('--verbose', action='store_true',
                        help='also show the third-party messages llava_mm '
                        'filters as harmless (llava_mm.utils.third_party)')
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error(f'--batch-size {args.batch_size}: use 1 or more.')
    if args.questions is not None and (args.inputs or args.prompt):
        parser.error('--questions names the images and questions itself; '
                     'leave out IMAGE arguments and --prompt.')
    if args.questions is None and not args.inputs:
        parser.error('give image files, directories or globs (or, for a '
                     'VQA model, --questions FILE.jsonl).')
    if is_config_path(args.model) and args.checkpoint is None:
        parser.error(f'{args.model} is a config file: add --checkpoint PATH '
                     '(or give a model name from list_models()).')
    return args


def expand_images(inputs: List[str]) -> List[str]:
    """Files as given, directories' image files, globs' matches (sorted)."""
    images = []
    for arg in inputs:
        if osp.isdir(arg):
            images += list_image_dir(arg)
        elif any(c in arg for c in GLOB_CHARS) and not osp.exists(arg):
            matches = sorted(p for p in glob.glob(arg) if osp.isfile(p))
            if not matches:
                raise SystemExit(f'error: no files match {arg!r}.')
            images += matches
        else:
            images.append(arg)
    return images


def read_questions(path: str) -> List[Tuple[str, str, str]]:
    """(image as written, image path, question) of a JSONL file's lines.

    Relative image paths are relative to the file's directory.
    """
    if not osp.isfile(path):
        raise SystemExit(f'error: --questions {path}: no such file.')
    root = osp.dirname(osp.abspath(path))
    entries = []
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(f'error: {path} line {n} is not JSON '
                                 f'({e.msg}).') from e
            if not (isinstance(entry, dict)
                    and isinstance(entry.get('image'), str)
                    and isinstance(entry.get('question'), str)):
                raise SystemExit(
                    f'error: {path} line {n}: expected {{"image": "<path>", '
                    f'"question": "<text>"}}, got {line.strip()[:80]}')
            entries.append((entry['image'], osp.join(root, entry['image']),
                          entry['question']))
    if not entries:
        raise SystemExit(f'error: --questions {path} has no questions.')
    return entries


def check_outputs(args: argparse.Namespace, paths: List[str]) -> None:
    """Refuse ``--out``/``--show-dir`` outputs that would replace an input
    (``paths``: the image files) or cannot be written, before the model is
    loaded."""
    inputs = paths + ([args.questions] if args.questions else [])
    if args.out is not None:
        check_out_file(args.out, '--out')
        check_not_inputs([args.out], inputs, '--out')
    if args.show_dir is not None:
        LlavaInferencer._drawing_files(
            [dict(img_path=path) for path in paths], args.show_dir,
            '--show-dir')


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.verbose:
        third_party.show_all()
    if args.questions is not None:
        entries = read_questions(args.questions)
        images = [given for given, _, _ in entries]
        paths = [path for _, path, _ in entries]
    else:
        images = paths = expand_images(args.inputs)
    check_outputs(args, paths)
    model = model_from_args(args.model, args)
    vqa = model.task == 'vqa'
    if args.questions is not None and not vqa:
        raise SystemExit(f'error: {args.model} is a caption model; '
                         '--questions is for VQA models (use --prompt for a '
                         'custom caption instruction).')
    if vqa and args.questions is None and not args.prompt:
        raise SystemExit(f"error: {args.model} is a VQA model: ask with "
                         "--prompt 'What is in the image?' or --questions "
                         'FILE.jsonl.')
    gen = {k: v for k, v in dict(max_new_tokens=args.max_new_tokens,
                                 num_beams=args.num_beams).items()
           if v is not None}
    inferencer = get_inferencer(model)
    call = dict(batch_size=args.batch_size, show_dir=args.show_dir, **gen)
    if args.questions is not None:
        results = inferencer(
            [dict(image=path, question=q) for _, path, q in entries], **call)
    else:
        if vqa:
            results = inferencer(images, [args.prompt] * len(images), **call)
        else:
            results = inferencer(images, prompt=args.prompt, **call)
    lines = [json.dumps(dict(image=image, **result), ensure_ascii=False)
             for image, result in zip(images, results)]
    if len(results) == 1:  # as inference_model returns it
        print(json.dumps(results[0], ensure_ascii=False))
    else:
        print('\n'.join(lines))
    if args.out is not None:
        with open(args.out, 'w', encoding='utf-8') as f:
            f.write(''.join(line + '\n' for line in lines))
        print(f'Wrote {len(lines)} results to {args.out}', file=sys.stderr)


if __name__ == '__main__':
    sys.exit(run_tool(main, tool_file=__file__))
