"""Multi-turn chat (LlavaChat) with the shipped shapes model, and the
conversation templates it shares with training."""
import json
import os.path as osp
import threading

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.structures import DataSample
from PIL import Image
from transformers import StoppingCriteriaList

from llava_mm import LlavaChat, get_model
from llava_mm.apis.chat import (
    DEFAULT_MAX_NEW_TOKENS,
    DEFAULT_TEMPERATURE,
    DEFAULT_TOP_P,
    StopWhenSet,
)
from llava_mm.constants import V15_SYSTEM, VQA_SHORT_ANSWER_SUFFIX
from llava_mm.conversation import (
    LLAVA_V1,
    MISTRAL_INSTRUCT,
    VICUNA_V1,
    Conversation,
    model_prompt_templates,
)
from llava_mm.datasets import LLaVAInstruct
from llava_mm.datasets.image_modes import square_image
from llava_mm.datasets.transforms import CLIP_MEAN_RGB
from llava_mm.registry import DATASETS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(ROOT, 'demo', 'shapes.png')  # red circle left, blue square
# A conversation the shipped model answers right (greedy).
QUESTIONS = ['Is the circle on the left or the right?',
             'What colour is the circle?', 'What colour is the square?']
ANSWERS = ['left', 'red', 'blue']


@pytest.fixture(scope='module')
def vqa_model():
    return get_model('llava-tiny-shapes_vqa', device='cpu')


@pytest.fixture(scope='module')
def caption_model():
    return get_model('llava-tiny-shapes_caption', device='cpu')


def test_vicuna_v1_reads_as_the_official_template():
    text = VICUNA_V1.render([('q1', 'a1'), ('q2', 'a2'), ('q3', None)])
    assert text == (f'{V15_SYSTEM} USER: <image>\nq1 ASSISTANT: a1</s>'
                    'USER: q2 ASSISTANT: a2</s>USER: q3 ASSISTANT:')
    assert LLAVA_V1.render([('q', None)]).endswith(
        ' USER: <im_start><image><im_end>\nq ASSISTANT:')


def test_mistral_instruct_reads_as_the_official_template():
    """LLaVA-1.6-Mistral's ``conv_mistral_instruct`` (LLAMA_2 style, no
    system prompt)."""
    text = MISTRAL_INSTRUCT.render([('q1', 'a1'), ('q2', None)])
    assert text == '[INST] <image>\nq1 [/INST] a1 </s>[INST] q2 [/INST]'


@pytest.mark.parametrize('name, template, suffix', [
    ('llava-7b-v1.5_caption', VICUNA_V1, ''),
    ('llava-7b-v1.5_vqa', VICUNA_V1, VQA_SHORT_ANSWER_SUFFIX),
    ('llava-13b-v1.5_vqa', VICUNA_V1, VQA_SHORT_ANSWER_SUFFIX),
    ('llava-tiny-shapes_caption', VICUNA_V1, ''),
    ('llava-tiny-shapes_vqa', VICUNA_V1, VQA_SHORT_ANSWER_SUFFIX),
    ('llava-7b-v1_caption', LLAVA_V1, ''),
    ('llava-v1.6-vicuna-7b_caption', VICUNA_V1, ''),
    ('llava-v1.6-vicuna-13b_vqa', VICUNA_V1, VQA_SHORT_ANSWER_SUFFIX),
    ('llava-v1.6-mistral-7b_caption', MISTRAL_INSTRUCT, ''),
    ('llava-v1.6-mistral-7b_vqa', MISTRAL_INSTRUCT, VQA_SHORT_ANSWER_SUFFIX),
])
def test_configs_use_the_conversation_templates(name, template, suffix):
    model = Config.fromfile(osp.join(ROOT, 'configs', 'llava',
                                     f'{name}.py')).model
    assert model.conv_template == template.name
    assert model_prompt_templates(model) == (template.prompt_tmpl(suffix),
                                             template.turn_tmpl(suffix))


def test_chat_and_training_build_the_same_ids(vqa_model, caption_model,
                                               tmp_path, monkeypatch):
    # The chat asks the plain questions through the VQA model's templates;
    # training reads a LLaVA JSON whose questions carry the short-answer
    # instruction themselves (as projects/tiny_shapes writes it) through
    # the plain templates of the training config.
    seen = []
    real = vqa_model.batch_ids

    def record(samples, with_targets=False):
        out = real(samples, with_targets)
        seen.append(out[0][0])
        return out

    monkeypatch.setattr(vqa_model, 'batch_ids', record)
    chat = LlavaChat(vqa_model, temperature=0)
    answers = [chat.ask(q, image=DEMO if not k else None)
               for k, q in enumerate(QUESTIONS)]
    chat_prompt = seen[-1]  # what generate read for the third answer

    entry = dict(id='0', image=osp.basename(DEMO), conversations=[])
    for k, (q, a) in enumerate(zip(QUESTIONS, answers)):
        entry['conversations'] += [
            {'from': 'human', 'value': ('<image>\n' if not k else '') + q +
             VQA_SHORT_ANSWER_SUFFIX},
            {'from': 'gpt', 'value': a}]
    (tmp_path / 'conv.json').write_text(json.dumps([entry]))
    # The shipped model's training data set config, on this file.
    train = Config.fromfile(osp.join(
        ROOT, 'projects', 'tiny_shapes', 'configs',
        'shapes_train_data.py')).train_mix
    train.update(data_root=str(tmp_path), ann_file='conv.json',
                 data_prefix=osp.dirname(DEMO))
    init_default_scope('llava_mm')
    dataset = DATASETS.build(train)
    assert isinstance(dataset, LLaVAInstruct)
    sample = dataset[0]['data_samples']
    prompt, targets, labels = caption_model.batch_ids([sample], True)
    train_ids = prompt[0] + targets[0]
    assert train_ids == chat_prompt + caption_model.target_ids(answers[2])
    # ... and training puts its loss on the three answers (with EOS) only.
    eos = caption_model.tokenizer.eos_token_id
    labelled = [t for t in labels[0] if t != -100]
    assert labelled == [i for a in answers
                        for i in caption_model.target_ids(a)]
    assert labelled.count(eos) == 3


def test_three_turns_about_the_demo_image(vqa_model):
    chat = LlavaChat(vqa_model, temperature=0)
    answers = [chat.ask(q, image=DEMO if not k else None)
               for k, q in enumerate(QUESTIONS)]
    assert answers == ANSWERS
    assert chat.history == list(zip(QUESTIONS, ANSWERS))
    # The same first question alone gives the same first answer.
    assert LlavaChat(vqa_model, temperature=0).ask(
        QUESTIONS[0], image=Image.open(DEMO)) == ANSWERS[0]


def test_defaults_are_the_llava_cli_ones(vqa_model):
    chat = LlavaChat(vqa_model)
    assert (DEFAULT_TEMPERATURE, DEFAULT_TOP_P, DEFAULT_MAX_NEW_TOKENS) == (
        0.2, 1.0, 512)
    assert (chat.temperature, chat.top_p, chat.max_new_tokens) == (
        0.2, 1.0, 512)


def test_stream_gives_the_answer_piece_by_piece(caption_model):
    chat = LlavaChat(caption_model, temperature=0)
    pieces = list(chat.stream(
        'Provide a one-sentence caption for the provided image.',
        image=DEMO))
    assert len(pieces) > 3
    assert ''.join(pieces) == chat.history[-1][1]
    assert 'red circle' in chat.history[-1][1]


def test_a_stream_closed_early_keeps_what_was_seen(caption_model):
    chat = LlavaChat(caption_model, temperature=0)
    stream = chat.stream(
        'Provide a one-sentence caption for the provided image.',
        image=DEMO)
    first = next(stream)
    stream.close()
    assert chat.history == [(
        'Provide a one-sentence caption for the provided image.', first)]
    assert chat.ask('What colour is the circle?' +
                    VQA_SHORT_ANSWER_SUFFIX) == 'red'


def test_stop_when_set_ends_generation(caption_model):
    chat = LlavaChat(caption_model)
    images, _ = chat._preprocess(DEMO)
    done = threading.Event()
    full = caption_model.generate(images, max_new_tokens=16)
    done.set()
    cut = caption_model.generate(
        images, max_new_tokens=16,
        stopping_criteria=StoppingCriteriaList([StopWhenSet(done)]))
    assert full.shape[1] > 5 and cut.shape[1] == 1


def test_sampling_options(vqa_model):
    chat = LlavaChat(vqa_model, temperature=1.0, top_p=1e-6)
    # A tiny nucleus keeps only the likeliest token: sampling is greedy.
    assert chat.ask(QUESTIONS[0], image=DEMO) == ANSWERS[0]
    answers = []
    for _ in range(2):
        torch.manual_seed(0)
        answers.append(LlavaChat(vqa_model, temperature=5.0).ask(
            QUESTIONS[1], image=DEMO, max_new_tokens=4))
    assert answers[0] == answers[1]  # sampled, reproducible with a seed
    with pytest.raises(ValueError, match='max_new_tokens'):
        chat.ask('What colour is the circle?', max_new_tokens=0)
    with pytest.raises(ValueError, match='top_p'):
        chat.ask('What colour is the circle?', top_p=0)
    assert len(chat.history) == 1  # the refused turns left no trace


def positions(model, turns):
    """Positions a conversation takes in the model, image included."""
    sample = DataSample(metainfo=dict(conversation=[list(t) for t in turns]))
    prompt, targets, _ = model.batch_ids([sample], with_targets=True)
    return len(prompt[0]) + len(targets[0]) - 1 + \
        model.model.vision_tower.num_patches


def test_regenerate_answers_the_last_question_again(caption_model):
    chat = LlavaChat(caption_model, temperature=0)
    with pytest.raises(ValueError, match='Nothing to regenerate'):
        chat.regenerate()
    question = 'Provide a one-sentence caption for the provided image.'
    stream = chat.stream(question, image=DEMO)
    next(stream)
    stream.close()  # stopped after its first word
    assert chat.history == [(question, 'a')]
    full = 'a small red circle and a large blue square.'
    assert ''.join(chat.regenerate()) == full
    assert chat.history == [(question, full)]  # replaced, not added
    with pytest.raises(ValueError, match='max_new_tokens'):
        chat.regenerate(max_new_tokens=0)
    assert chat.history == [(question, full)]  # a refusal keeps it
    # A lone surrogate (bytes that were not UTF-8) is refused as text.
    with pytest.raises(ValueError, match='lone surrogate at character 5'):
        chat.ask('What \udcff colour?')
    assert chat.history == [(question, full)]


def test_image_modes_make_the_image_square_for_the_pipeline(vqa_model):
    pipeline = vqa_model.cfg.test_pipeline  # pad, then resize to 64
    panel = Image.open(DEMO).convert('RGB').resize((64, 64))
    wide = Image.new('RGB', (192, 64), (50, 50, 50))
    wide.paste(panel, (64, 0))
    chat = LlavaChat(vqa_model)

    def pre(img):  # the model input
        return chat._preprocess(img)[0]

    assert square_image(wide, 'Default', pipeline) is wide
    pad = square_image(wide, 'Pad', pipeline)
    assert pad.size == (192, 192)
    assert pad.getpixel((0, 0)) == CLIP_MEAN_RGB
    assert torch.equal(pre(pad), pre(wide))  # what LLaVA-1.5 does anyway
    crop = square_image(wide, 'Crop', pipeline)
    assert np.array_equal(np.asarray(crop), np.asarray(panel))
    resize = square_image(wide, 'Resize', pipeline)
    assert resize.size == (64, 64)
    assert np.array_equal(np.asarray(resize), np.asarray(
        wide.resize((64, 64), Image.BICUBIC)))
    with pytest.raises(ValueError, match='use one of'):
        square_image(wide, 'pad', pipeline)


def test_a_full_context_drops_the_oldest_turns(vqa_model):
    chat = LlavaChat(vqa_model, temperature=0)
    context = chat.context_length
    questions = QUESTIONS * 4
    for k, q in enumerate(questions):
        chat.ask(q, image=DEMO if not k else None)
    assert chat.dropped_turns > 0
    # What is kept fits the context (all turns would not).
    assert positions(vqa_model, chat.history) <= context
    assert positions(vqa_model, list(zip(questions, ANSWERS * 4))) > context
    assert len(chat.history) == len(questions) - chat.dropped_turns
    # The kept turns are the newest; the image went with the first of them.
    assert [q for q, _ in chat.history] == questions[chat.dropped_turns:]
    assert chat.history[-1] == (QUESTIONS[2], ANSWERS[2])


def test_a_question_too_long_for_the_context_is_a_clear_error(vqa_model):
    chat = LlavaChat(vqa_model, temperature=0)
    chat.ask(QUESTIONS[0], image=DEMO)
    with pytest.raises(ValueError, match='Ask a shorter question'):
        chat.ask('Is the circle red? ' * 60)
    assert chat.history == [(QUESTIONS[0], ANSWERS[0])]
    assert chat.ask(QUESTIONS[1]) == ANSWERS[1]


def test_image_handling_and_reset(vqa_model, tmp_path):
    chat = LlavaChat(vqa_model, temperature=0)
    with pytest.raises(ValueError, match='No image yet'):
        chat.ask('What colour is the circle?')
    bad = tmp_path / 'notes.txt'
    bad.write_text('not an image')
    with pytest.raises(ValueError, match='notes.txt'):
        chat.ask('What colour is the circle?', image=str(bad))
    assert chat.history == []
    chat.ask(QUESTIONS[0], image=DEMO)
    chat.reset()
    assert chat.history == []
    assert chat.ask(QUESTIONS[1]) == ANSWERS[1]  # the image stayed
    # A new image starts a new conversation: a green circle on its own.
    img = Image.new('RGB', (64, 64), (20, 20, 20))
    img.paste((0, 200, 0), (24, 24, 40, 40))
    chat.ask('What colour is the square?', image=img)
    assert len(chat.history) == 1


def test_conversation_state_rules():
    conv = Conversation(image=DEMO)
    conv.add_question('q1')
    with pytest.raises(RuntimeError, match='no answer yet'):
        conv.add_question('q2')
    conv.add_answer('a1')
    with pytest.raises(ValueError, match='non-empty'):
        conv.add_question('  ')
    with pytest.raises(RuntimeError, match='Only the current turn'):
        conv.drop_oldest()


def test_question_with_image_token_is_refused():
    from llava_mm.conversation import Conversation
    conv = Conversation()
    with pytest.raises(ValueError, match='<image>'):
        conv.add_question('What is <image> here?')
    with pytest.raises(ValueError):
        conv.add_question('   ')
    assert conv.turns == []
    conv.add_question('What colour is it?')
    assert conv.turns == [['What colour is it?', None]]
