"""Benchmark configs and random real-size checkpoints in OpenMMLab layout.

A random checkpoint is written without holding the weights in memory: the
file is first saved with :func:`torch.serialization.skip_data` (the tensor
bytes are reserved, not written), then memory-mapped with ``MAP_SHARED`` and
filled one tensor at a time, so the only memory used is the kernel's page
cache, which it can write back and evict.
"""
import copy
import mmap
import os
import os.path as osp
from typing import Dict, Optional

import torch
from mmengine.config import Config

from llava_mm.constants import VISION_PREFIX
from llava_mm.registry import MODELS

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
BASE_7B = osp.join(REPO_ROOT, 'configs', 'llava', 'llava-7b-v1.5_caption.py')
BASE_13B = osp.join(REPO_ROOT, 'configs', 'llava',
                    'llava-13b-v1.5_caption.py')

# Scaled-down LLaVA-1.5: the real image resolution and patch count (576
# image tokens), the real vocabulary, a ViT-B-sized tower and a ~0.4B LLaMA.
SMALL = dict(
    vision=dict(embed_dims=768, num_layers=12, num_heads=12,
                feedforward_channels=3072),
    text=dict(hidden_size=1536, intermediate_size=4096,
              num_hidden_layers=12, num_attention_heads=12,
              num_key_value_heads=12),
    img_size=336)
# For tests: a few M parameters, 4 image tokens.
TINY = dict(
    vision=dict(embed_dims=32, num_layers=3, num_heads=4,
                feedforward_channels=64),
    text=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=4,
              vocab_size=2048),
    img_size=28)
# Real sizes: the release configs as they are.
PRESETS = {'small': SMALL, 'tiny': TINY, '7b': None, '13b': None}

# Words of the benchmark prompts, so that the BPE tokenizer gives them
# whole-word tokens (as LLaMA's tokenizer roughly does).
_EXTRA_CORPUS = [
    'Describe the image briefly. Write a short caption for this picture.',
    'Give a one-sentence description of the scene, naming the main '
    'objects, their colours and what the people or animals are doing.',
    'What is happening here? Caption it in a few words.',
    'Summarise the photo in one short sentence for a visually impaired '
    'reader, mentioning where it was taken and the time of day.',
]


def benchmark_config(preset: str, tokenizer_dir: str,
                     config: Optional[str] = None) -> Config:
    """A LLaVA-1.5 config at real or reduced size with a local tokenizer.

    Args:
        preset (str): ``'7b'``/``'13b'`` (the real architectures),
            ``'small'`` or ``'tiny'``.
        tokenizer_dir (str): A local tokenizer (see
            :func:`make_tokenizer`); token ids beyond its vocabulary are
            allowed (the LM keeps its own vocabulary size).
        config (str, optional): Config file to start from. Defaults to
            ``configs/llava/llava-7b-v1.5_caption.py`` (the 13B one for
            ``'13b'``).

    Returns:
        Config: With ``model`` and ``test_pipeline``.
    """
    if preset not in PRESETS:
        raise ValueError(f'Unknown preset {preset!r}; use one of '
                         f'{sorted(PRESETS)}.')
    base = Config.fromfile(config or (BASE_13B if preset == '13b'
                                      else BASE_7B))
    model = copy.deepcopy(base.model)
    model.tokenizer = dict(type='AutoTokenizer', name_or_path=tokenizer_dir)
    model.vision_encoder.pretrained = None
    sizes = PRESETS[preset]
    pipeline = copy.deepcopy(base.get('test_pipeline', None))
    if sizes is not None:
        model.vision_encoder.arch = dict(sizes['vision'])
        model.vision_encoder.img_size = sizes['img_size']
        model.mm_hidden_size = sizes['vision']['embed_dims']
        model.lang_encoder.config.update(sizes['text'])
        if pipeline is not None:
            for t in pipeline:
                if t['type'] == 'CLIPResizeCrop':
                    t['scale'] = sizes['img_size']
    return Config(dict(model=model, test_pipeline=pipeline))


def make_tokenizer(out_dir: str, vocab_size: int = 2000) -> str:
    """Train the local byte-level BPE tokenizer used by the benchmark.

    Args:
        out_dir (str): Where to save it (reused when it exists).
        vocab_size (int): Maximum vocabulary size.

    Returns:
        str: ``out_dir``.
    """
    from llava_mm.utils.tokenizer import DEFAULT_CORPUS, train_tokenizer
    if osp.isfile(osp.join(out_dir, 'tokenizer.json')):
        return out_dir
    return train_tokenizer(out_dir, DEFAULT_CORPUS + _EXTRA_CORPUS,
                           vocab_size=vocab_size)


def checkpoint_shapes(cfg: Config) -> Dict[str, torch.Size]:
    """Keys and shapes of the OpenMMLab checkpoint for ``cfg.model``.

    The vision tower is listed with all its blocks, as a released vision
    file holds them (the model builds only those it reads).

    Args:
        cfg (Config): Config with ``model``.

    Returns:
        dict: Key -> shape, in the model's order.
    """
    with torch.device('meta'):
        model = MODELS.build(copy.deepcopy(cfg.model))
        tower = MODELS.build(copy.deepcopy(cfg.model.vision_encoder))
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    for k, v in tower.state_dict().items():
        shapes.setdefault(VISION_PREFIX + k, v.shape)
    return shapes


def _fill_(key: str, t: torch.Tensor, std: float) -> None:
    """LLaMA/CLIP-like random init: norms 1, biases 0, the rest N(0, std)."""
    if t.dim() == 1 and key.endswith('weight'):
        t.fill_(1.0)
    elif key.endswith('bias'):
        t.zero_()
    else:
        t.normal_(0.0, std)


def write_random_checkpoint(cfg: Config, path: str,
                            dtype: torch.dtype = torch.bfloat16,
                            std: float = 0.02, seed: int = 0,
                            device: str = 'cpu') -> int:
    """Write a random OpenMMLab-layout checkpoint of ``cfg.model``.

    Never holds the weights in process memory (see the module docstring).

    Args:
        cfg (Config): Config with ``model``.
        path (str): Output ``.pth`` (loadable with ``torch.load``).
        dtype (torch.dtype): Tensor dtype. Defaults to bf16.
        std (float): Std of the random weights.
        seed (int): Random seed.
        device (str): Where the values are drawn before they are written.

    Returns:
        int: Number of parameters written.
    """
    from torch._subclasses.fake_tensor import FakeTensorMode
    shapes = checkpoint_shapes(cfg)
    with FakeTensorMode():
        fake = {k: torch.empty(s, dtype=dtype) for k, s in shapes.items()}
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with torch.serialization.skip_data(materialize_fake_tensors=True):
        torch.save(fake, path)
    del fake
    torch.manual_seed(seed)  # seeds normal_ (every device)
    with torch.serialization.set_default_mmap_options(mmap.MAP_SHARED):
        state = torch.load(path, mmap=True, weights_only=True)
    total = 0
    for k, t in state.items():
        if torch.device(device).type == 'cpu':
            _fill_(k, t, std)
        else:
            drawn = torch.empty(t.shape, dtype=t.dtype, device=device)
            _fill_(k, drawn, std)
            t.copy_(drawn)
        total += t.numel()
    del state  # unmaps; the kernel writes the dirty pages back
    return total
