"""Vision-tower pretraining from caption tags (stage 0 of the shapes model)."""
import pytest
import torch
from mmpretrain.structures import DataSample

from llava_mm.registry import MODELS
from projects.tiny_shapes.tiny_shapes import CaptionTagPretrainer
from tiny import tiny_llava_model_cfg

TAGS = ['red circle', 'blue square', 'small red']


def build(tokenizer_dir):
    llava_cfg = tiny_llava_model_cfg(tokenizer_dir, 300, img_size=28)
    torch.manual_seed(0)
    model = CaptionTagPretrainer(llava_cfg['vision_encoder'], TAGS)
    model.init_weights()
    return model, llava_cfg


def sample(caption):
    s = DataSample()
    s.set_field(caption, 'gt_caption')
    return s


def test_targets_from_captions(tokenizer_dir):
    model, _ = build(tokenizer_dir)
    targets = model.targets([
        sample(['a small red circle and a large blue square.', 'x']),
        sample('a large red circles.'),  # whole words only
    ])
    assert targets.tolist() == [[1, 1, 1], [0, 0, 0]]
    with pytest.raises(KeyError, match='gt_caption'):
        model.targets([DataSample()])
    with pytest.raises(ValueError, match='distinct'):
        CaptionTagPretrainer(build(tokenizer_dir)[1]['vision_encoder'],
                             ['a', 'a'])


def test_learns_and_initialises_a_llava(tokenizer_dir):
    model, llava_cfg = build(tokenizer_dir)
    images = torch.randn(2, 3, 28, 28, generator=torch.Generator()
                         .manual_seed(0))
    data = [sample('a small red circle.'), sample('a blue square.')]
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(10):
        loss = model(images, data, mode='loss')['loss']
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses
    scores = model(images, data, mode='predict')[0].pred_score
    assert scores.shape == (len(TAGS), )

    # Same tower, same keys as in Llava: its checkpoint is a LLaVA load_from.
    llava = MODELS.build(llava_cfg)
    result = llava.load_state_dict(model.state_dict(), strict=False)
    assert result.unexpected_keys == ['head.weight', 'head.bias']
    assert not any(k.startswith('model.vision_tower.')
                   for k in result.missing_keys)
    for k, v in llava.model.vision_tower.state_dict().items():
        torch.testing.assert_close(
            v, model.model.vision_tower.state_dict()[k])
