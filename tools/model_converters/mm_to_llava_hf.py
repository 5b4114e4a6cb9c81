"""Export an OpenMMLab-layout LLaVA checkpoint to a transformers directory
(llava-hf layout) that transformers runs as it is: weights of every layer,
config, tokenizer with <image>, processor and chat template.

    python tools/model_converters/mm_to_llava_hf.py CONFIG CHECKPOINT OUT_DIR

CONFIG is a config file or a model name; LLaVA-1.5 configs give a
LlavaForConditionalGeneration directory, LLaVA-1.6 (anyres) ones a
LlavaNextForConditionalGeneration directory. The tokenizer is the config's
(model.tokenizer.name_or_path). Then, in transformers:

    model = AutoModelForImageTextToText.from_pretrained(OUT_DIR)
    processor = AutoProcessor.from_pretrained(OUT_DIR)
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config

from llava_mm.apis.model_index import is_config_path, model_entry
from llava_mm.converters.hf_processor import (
    llava_hf_tokenizer,
    save_llava_hf_processor,
)
from llava_mm.converters.to_llava_hf import export_llava_hf


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='config file or model name')
    parser.add_argument('checkpoint', help='OpenMMLab-layout .pth or '
                        '.safetensors file')
    parser.add_argument('out_dir', help='new (or empty) output directory')
    parser.add_argument('--shard-size', type=float, default=5.0,
                        metavar='GB', help='largest weight file, in GB '
                        '(default: %(default)s)')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if osp.isdir(args.out_dir) and os.listdir(args.out_dir):
        raise SystemExit(f'error: {args.out_dir} is not empty; pass a new '
                         'directory (nothing is overwritten).')
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'error: checkpoint {args.checkpoint} not found: '
                         'pass an OpenMMLab-layout file.')
    if args.shard_size <= 0:
        raise SystemExit(f'error: --shard-size {args.shard_size}: use a '
                         'positive number of GB.')
    try:
        cfg = Config.fromfile(args.config if is_config_path(args.config)
                              else model_entry(args.config)['Config'])
        tok = llava_hf_tokenizer(cfg)
        export_llava_hf(cfg, args.checkpoint, args.out_dir,
                        shard_bytes=int(args.shard_size * 1e9),
                        token_ids=(tok.convert_tokens_to_ids('<image>'),
                                   tok.pad_token_id))
        save_llava_hf_processor(cfg, args.out_dir, tok)
    except (FileNotFoundError, KeyError, ValueError) as e:
        raise SystemExit(f'error: {e}') from None
    print(f'Wrote {args.out_dir}')


if __name__ == '__main__':
    main()
