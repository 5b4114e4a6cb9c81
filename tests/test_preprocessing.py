"""The test pipeline reproduces the official LLaVA pre-processing, and odd
image modes are converted rather than rejected."""
import numpy as np
import pytest
import torch
from mmengine.dataset import Compose
from PIL import Image

from llava_mm.models import MultiModalDataPreprocessor
from llava_mm.registry import TRANSFORMS


def _official_v15(img: Image.Image, size: int) -> torch.Tensor:
    """The official LLaVA-1.5 path: expand2square with the CLIP mean colour,
    then CLIP's (PIL) image processor."""
    from transformers.models.clip.image_processing_pil_clip import (
        CLIPImageProcessorPil,
    )
    proc = CLIPImageProcessorPil(size={'shortest_edge': size},
                                 crop_size={'height': size, 'width': size})
    bg = tuple(int(x * 255) for x in proc.image_mean)
    w, h = img.size
    side = max(w, h)
    square = Image.new(img.mode, (side, side), bg)
    square.paste(img, ((side - w) // 2, (side - h) // 2))
    return proc(square, return_tensors='pt')['pixel_values'][0]


def _official_v1(img: Image.Image, size: int) -> torch.Tensor:
    from transformers.models.clip.image_processing_pil_clip import (
        CLIPImageProcessorPil,
    )
    proc = CLIPImageProcessorPil(size={'shortest_edge': size},
                                 crop_size={'height': size, 'width': size})
    return proc(img, return_tensors='pt')['pixel_values'][0]


def _ours(img, pipeline):
    packed = Compose([TRANSFORMS.build(t) for t in pipeline])(dict(img=img))
    pre = MultiModalDataPreprocessor()
    return pre(dict(inputs=[packed['inputs']], data_samples=None))['images'][0]


@pytest.mark.parametrize('hw', [(200, 300), (301, 120), (336, 336)])
def test_v15_pixels_equal_official(hw):
    rng = np.random.default_rng(sum(hw))
    img = Image.fromarray(rng.integers(0, 256, (*hw, 3), np.uint8))
    pipeline = [dict(type='LoadImage'), dict(type='PadToSquare'),
                dict(type='CLIPResizeCrop', scale=336)]
    ours = _ours(img, pipeline + [dict(type='PackInputs')])
    ref = _official_v15(img, 336)
    assert ours.shape == ref.shape == (3, 336, 336)
    # Same uint8 pixels; only the float normalisation order differs.
    torch.testing.assert_close(ours, ref, rtol=0, atol=2e-6)


def test_v1_pixels_equal_official():
    rng = np.random.default_rng(1)
    img = Image.fromarray(rng.integers(0, 256, (250, 180, 3), np.uint8))
    pipeline = [dict(type='LoadImage'), dict(type='CLIPResizeCrop',
                                             scale=224),
                dict(type='PackInputs')]
    torch.testing.assert_close(_ours(img, pipeline), _official_v1(img, 224),
                               rtol=0, atol=2e-6)


@pytest.mark.parametrize('mode', ['L', 'LA', 'RGBA', 'P', 'I;16', 'CMYK'])
def test_odd_modes_are_converted(tmp_path, mode):
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 256, (20, 30, 3), np.uint8))
    if mode == 'I;16':
        arr = rng.integers(0, 65536, (20, 30)).astype(np.uint16)
        img = Image.fromarray(arr)
        assert img.mode.startswith('I')
        expected = (arr >> 8).astype(np.uint8)
    else:
        img = rgb.convert(mode)
        expected = None
    path = tmp_path / f'img.{"tiff" if mode == "CMYK" else "png"}'
    img.save(path)
    load = TRANSFORMS.build(dict(type='LoadImage'))
    out = load(dict(img_path=str(path)))['img']
    assert out.mode == 'RGB' and out.size == (30, 20)
    if expected is not None:
        got = np.asarray(out)
        assert (got[..., 0] == expected).all() and (got[..., 2] ==
                                                     expected).all()


def test_arrays_are_converted():
    load = TRANSFORMS.build(dict(type='LoadImage'))
    gray = np.full((5, 6), 7, np.uint8)
    assert np.asarray(load(dict(img=gray))['img'])[0, 0].tolist() == [7] * 3
    rgba = np.zeros((5, 6, 4), np.uint8)
    rgba[..., 1] = 200
    assert np.asarray(load(dict(img=rgba))['img'])[0, 0].tolist() == \
        [0, 200, 0]
    floats = np.ones((5, 6, 3), np.float32)
    assert np.asarray(load(dict(img=floats))['img']).max() == 255
    with pytest.raises(ValueError, match='HxW or HxWx3/4'):
        load(dict(img=np.zeros((5, 6, 2), np.uint8)))


def test_bad_paths(tmp_path):
    load = TRANSFORMS.build(dict(type='LoadImage'))
    with pytest.raises(FileNotFoundError, match='missing.jpg'):
        load(dict(img_path=str(tmp_path / 'missing.jpg')))
    not_image = tmp_path / 'notes.jpg'
    not_image.write_text('not an image')
    with pytest.raises(ValueError, match='notes.jpg as an image'):
        load(dict(img_path=str(not_image)))


@pytest.mark.parametrize('shape', [(0, 0, 3), (0, 5, 3), (5, 0)])
def test_empty_image_array(shape):
    load = TRANSFORMS.build(dict(type='LoadImage'))
    with pytest.raises(ValueError, match=r'image array is empty \(shape'):
        load(dict(img=np.zeros(shape, np.uint8)))


@pytest.mark.parametrize('lo,hi', [(0, 255), (-1, 0.5), (0, float('nan'))])
def test_float_array_outside_unit_range(lo, hi):
    load = TRANSFORMS.build(dict(type='LoadImage'))
    arr = np.linspace(lo, hi, 5 * 6 * 3, dtype=np.float32).reshape(5, 6, 3)
    with pytest.raises(ValueError, match=r'in \[0, 1\].*astype\(np.uint8\)'):
        load(dict(img=arr))


def test_path_and_bytes_inputs(tmp_path):
    """pathlib.Path loads like str; bytes are an encoded image file."""
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 256, (20, 30, 3), np.uint8))
    path = tmp_path / 'img.png'
    rgb.save(path)
    load = TRANSFORMS.build(dict(type='LoadImage'))
    for given in (dict(img_path=path), dict(img=path),
                  dict(img=path.read_bytes()),
                  dict(img=bytearray(path.read_bytes()))):
        assert np.array_equal(np.asarray(load(given)['img']),
                              np.asarray(rgb))
    with pytest.raises(ValueError, match='12 bytes of image data'):
        load(dict(img=b'not an image'))


def test_url_is_not_fetched():
    load = TRANSFORMS.build(dict(type='LoadImage'))
    url = 'https://example.com/cat.jpg'
    with pytest.raises(ValueError, match=f'{url} is a URL.*not fetch'):
        load(dict(img_path=url))
