"""One set of loading options (LoadOptions) for init_model, get_model, the
inferencers and LlavaChat, and LlavaChat's pipeline built as the
inferencers build theirs."""
import copy
import inspect
import os.path as osp

import pytest

from llava_mm import (
    ImageCaptionInferencer,
    LlavaChat,
    VisualQuestionAnsweringInferencer,
    get_model,
    init_model,
)
from llava_mm.apis.load_options import LoadOptions

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(ROOT, 'demo', 'shapes.png')
OPTIONS = LoadOptions.names()


@pytest.fixture(scope='module')
def vqa_model():
    return get_model('llava-tiny-shapes_vqa', device='cpu')


def test_the_options_and_their_one_signature():
    assert OPTIONS == ('device', 'dtype', 'quantization', 'device_map',
                       'offload_folder', 'engine')
    # init_model spells them out; it is what the others call.
    params = inspect.signature(init_model).parameters
    assert [p for p in params if p in OPTIONS] == list(OPTIONS)
    kwargs = dict(device='cpu', engine='eager', tokenizer=dict(x=1))
    options = LoadOptions.take(kwargs)
    assert options == LoadOptions(device='cpu', engine='eager')
    assert kwargs == dict(tokenizer=dict(x=1))  # config overrides stay
    assert options.as_kwargs()['engine'] == 'eager'


@pytest.mark.parametrize('make', [
    lambda **kw: LlavaChat('llava-tiny-shapes_vqa', temperature=0, **kw),
    lambda **kw: VisualQuestionAnsweringInferencer('llava-tiny-shapes_vqa',
                                                   **kw),
], ids=['chat', 'inferencer'])
def test_chat_and_inferencers_take_every_loading_option(make):
    # LlavaChat took device and dtype only: engine= was a TypeError.
    user = make(device='cpu', dtype='fp32', engine='eager')
    model = user.model
    assert str(next(model.parameters()).dtype) == 'torch.float32'
    assert model.engine.describe() == get_model(
        'llava-tiny-shapes_vqa', device='cpu', engine='eager'
    ).engine.describe()


def test_a_built_model_takes_only_placement(vqa_model):
    for make in (LlavaChat, VisualQuestionAnsweringInferencer):
        with pytest.raises(TypeError, match=r"\['quantization'\]: these "
                           'loading options need a model name or config'):
            make(vqa_model, quantization='int8')
    with pytest.raises(ValueError, match='needs a caption model'):
        ImageCaptionInferencer(vqa_model, device='cpu')


def test_chat_pipeline_comes_from_the_test_set_when_no_test_pipeline(
        vqa_model):
    # The inferencers accept a config whose pipeline is only the test
    # dataset's; LlavaChat read cfg.test_pipeline and failed on it.
    model = copy.copy(vqa_model)
    cfg = copy.deepcopy(vqa_model.cfg)
    pipeline = cfg.pop('test_pipeline')
    cfg.test_dataloader = dict(dataset=dict(pipeline=pipeline))
    model.cfg = cfg
    expected = LlavaChat(vqa_model, temperature=0).ask(
        'What colour is the circle?', image=DEMO)
    answer = LlavaChat(model, temperature=0).ask(
        'What colour is the circle?', image=DEMO)
    assert answer == expected
    answer = VisualQuestionAnsweringInferencer(model)(
        DEMO, 'What colour is the circle?')[0]['pred_answer']
    assert answer == expected
