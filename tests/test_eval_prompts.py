"""Bad questions and prompts fail early, naming the input."""
import numpy as np
import pytest
import torch
from mmengine.config import Config

from llava_mm import inference_model, init_model
from tiny import tiny_llava_model_cfg, tiny_test_pipeline

VOCAB = 300


def _model(tokenizer_dir, task):
    torch.manual_seed(0)
    return init_model(Config(dict(
        model=tiny_llava_model_cfg(tokenizer_dir, VOCAB, task=task),
        test_pipeline=tiny_test_pipeline())), device='cpu')


def test_image_token_in_question_is_refused(tokenizer_dir):
    model = _model(tokenizer_dir, 'vqa')
    img = np.zeros((28, 28, 3), np.uint8)
    with pytest.raises(ValueError, match='contains "<image>"') as e:
        inference_model(model, img, 'What is <image> showing?')
    assert 'What is <image> showing?' in str(e.value)
    with pytest.raises(ValueError, match='<image>'):
        model.format_prompt('<image>\nWhat colour?')
    out = inference_model(model, img, 'What is image showing?',
                          max_new_tokens=2)
    assert isinstance(out['pred_answer'], str)


def test_empty_prompt_on_a_caption_model_is_refused(tokenizer_dir):
    model = _model(tokenizer_dir, 'caption')
    img = np.zeros((28, 28, 3), np.uint8)
    for empty in ('', '  \n'):
        with pytest.raises(ValueError, match='Empty prompt'):
            inference_model(model, img, empty)
    # No prompt: the model's own caption prompt.
    out = inference_model(model, img, max_new_tokens=2)
    assert isinstance(out['pred_caption'], str)
