"""A LLaVA-NeXT model through the user's path: tools/test.py (caption and
VQA, resume) with a llava-hf directory as the checkpoint, the inferencers,
inference_model and chat."""
import glob
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from eval_helpers import (
    VQA_QUESTIONS,
    load_json,
    make_caption_set,
    make_vqa_set,
    run_test_main,
    write_config,
    write_vqa_annotations,
)
from llava_mm import LlavaChat, get_model, inference_model
from test_parity_next import TEXT_VOCAB, TILE, make_hf_llava_next
from tiny import tiny_anyres_pipeline, tiny_llava_next_model_cfg


def model_cfg(tokenizer_dir, task):
    cfg = tiny_llava_next_model_cfg(tokenizer_dir, TEXT_VOCAB, img_size=TILE,
                                    task=task)
    # A short prompt: mmengine formats the config with yapf per run.
    cfg.update(prompt_tmpl='USER: <image>\n{question} ASSISTANT:',
               generation_cfg=dict(max_new_tokens=6))
    return cfg


@pytest.fixture(scope='module')
def setup(tmp_path_factory, tokenizer_dir):
    root = tmp_path_factory.mktemp('next_user')
    hf_dir = str(root / 'hf')
    make_hf_llava_next(hf_dir, 'llama', seed=2)
    return root, hf_dir


def build(tokenizer_dir, hf_dir, task, **kwargs):
    cfg = Config(dict(model=model_cfg(tokenizer_dir, task),
                      test_pipeline=tiny_anyres_pipeline(TILE)))
    return get_model(cfg, pretrained=hf_dir, device='cpu', **kwargs)


def test_tools_test_vqa_and_caption(setup, tokenizer_dir):
    """tools/test.py scores v1.6 predictions (batches of mixed grids) that
    equal the inferencers' (another batch size), and resumes."""
    root, hf_dir = setup
    data = make_vqa_set(str(root / 'vqa'))
    write_vqa_annotations(data['ann_file'], [['nomatch'] * 10] * 7)
    config = write_config(
        str(root / 'next_vqa.py'), 'coco_vqa.py',
        model_cfg(tokenizer_dir, 'vqa'), tiny_anyres_pipeline(TILE),
        test_dataloader=dict(dataset=dict(
            data_root=str(root / 'vqa'), data_prefix='images',
            question_file=data['question_file'],
            ann_file=data['ann_file'])))
    work = str(root / 'work_vqa')
    out = osp.join(work, 'preds.json')
    run_test_main(config, hf_dir, work, '--out', out)
    preds = load_json(out)
    assert [p['question_id'] for p in preds] == [q[1] for q in VQA_QUESTIONS]
    vqa = build(tokenizer_dir, hf_dir, 'vqa')
    mine = inference_model(vqa, [dict(
        image=osp.join(root, 'vqa', 'images', f'shapes_{i:012d}.png'),
        question=q) for i, _, q, _ in VQA_QUESTIONS], batch_size=3)
    assert [p['pred_answer'] for p in preds] == [
        m['pred_answer'] for m in mine]
    assert len({p['pred_answer'] for p in preds}) > 1
    run_test_main(config, hf_dir, work, '--resume')
    with open(sorted(glob.glob(osp.join(work, '2*', '2*.log')))[-1]) as f:
        assert '7 of 7 predictions restored' in f.read()

    caps = make_caption_set(str(root / 'coco'))
    config = write_config(
        str(root / 'next_caption.py'), 'coco_caption.py',
        model_cfg(tokenizer_dir, 'caption'), tiny_anyres_pipeline(TILE),
        test_dataloader=dict(dataset=dict(
            data_root=str(root / 'coco'), ann_file=caps['ann_file'])),
        test_evaluator=dict(ann_file=caps['gt_file']))
    out = osp.join(root, 'work_cap', 'preds.json')
    metrics = run_test_main(config, hf_dir, str(root / 'work_cap'),
                            '--out', out)
    assert 'coco-caption/CIDEr' in metrics or any(
        'CIDEr' in k for k in metrics), metrics
    captioner = build(tokenizer_dir, hf_dir, 'caption')
    preds = load_json(out)
    for p in preds[:2]:
        path = osp.join(root, 'coco', 'val2014',
                        f'COCO_val2014_{p["image_id"]:012d}.jpg')
        assert inference_model(captioner, path)['pred_caption'] == \
            p['pred_caption']


def test_chat_counts_the_image_tokens_of_its_grid(setup, tokenizer_dir):
    """Chat prompts hold the anyres features of the image's own size, and
    the context check counts exactly the positions the model builds."""
    _, hf_dir = setup
    vqa = build(tokenizer_dir, hf_dir, 'vqa')
    chat = LlavaChat(vqa, temperature=0, max_new_tokens=5)
    rng = np.random.default_rng(0)
    for h, w in [(30, 170), (120, 130)]:
        img = Image.fromarray(rng.integers(0, 255, (h, w, 3), np.uint8))
        first = chat.ask('What is in the image?', image=img)
        chat.ask('How many objects are there?')
        turns = [list(t) for t in chat.conversation.turns] + [
            ['Is it large?', None]]  # the prompt of a third question
        sample = chat._sample(turns)
        assert sample.image_size == (h, w)
        built = vqa.build_batch(chat._images(), [sample])
        assert built['inputs_embeds'].shape[1] == \
            chat._prompt_positions(turns)
        assert first == inference_model(
            vqa, img, 'What is in the image?',
            max_new_tokens=5)['pred_answer']


def test_training_loss_reaches_the_newline(setup, tokenizer_dir):
    """The loss (right-padded batch of two grids) trains the projector and
    image_newline, as the official recipe does, the frozen tower not."""
    from mmengine.dataset import pseudo_collate
    from mmpretrain.structures import DataSample

    from llava_mm.apis.base_inferencer import build_test_pipeline
    _, hf_dir = setup
    model = build(tokenizer_dir, hf_dir, 'caption').train()
    pipeline = build_test_pipeline(model.cfg)
    rng = np.random.default_rng(4)
    packed = []
    for (h, w), caption in [((30, 170), 'a cat'), ((120, 130), 'a dog')]:
        item = pipeline(dict(img=Image.fromarray(
            rng.integers(0, 255, (h, w, 3), np.uint8))))
        item['data_samples'].set_field(caption, 'gt_caption')
        packed.append(item)
    batch = model.data_preprocessor(pseudo_collate(packed), True)
    assert isinstance(batch['data_samples'][0], DataSample)
    loss = model(batch['images'], batch['data_samples'], mode='loss')['loss']
    loss.backward()
    assert loss.isfinite()
    assert model.image_newline.grad is not None
    assert model.image_newline.grad.abs().sum() > 0
    assert model.model.vision_tower.pos_embed.grad is None


def test_compiled_engine_on_mixed_grids(setup, tokenizer_dir):
    """The static cache and compiled decode step (the GPU default) give the
    eager tokens on a batch whose images take different numbers of image
    positions (different grids)."""
    root, hf_dir = setup
    sizes = [(TILE, 3 * TILE), (2 * TILE, 2 * TILE), (9, 400)]
    rng = np.random.RandomState(3)
    images = [rng.randint(0, 255, (h, w, 3), dtype=np.uint8)
              for h, w in sizes]
    qs = ['What is it?', 'Which colour is the shape on the left?',
          'How many?']
    eager = build(tokenizer_dir, hf_dir, 'vqa', engine='eager')
    lengths = {eager.num_image_tokens(s) for s in sizes}
    assert len(lengths) == 3, lengths
    want = inference_model(eager, images, qs)
    compiled = build(tokenizer_dir, hf_dir, 'vqa',
                     engine=dict(compile=True))
    assert compiled.engine.describe()['cache'] == 'static'
    assert inference_model(compiled, images, qs) == want
    assert inference_model(compiled, images[:1], qs[:1]) == want[:1]
