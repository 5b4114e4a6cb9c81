"""Training: loss masking, optimisation, freezing, the VQA suffix transform."""
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from llava_mm.constants import IGNORE_INDEX
from llava_mm.datasets import AppendToQuestion
from llava_mm.registry import MODELS
from tiny import tiny_llava_model_cfg

VOCAB = 300
IMG = 28


def build_tiny(tokenizer_dir, **overrides):
    cfg = tiny_llava_model_cfg(tokenizer_dir, VOCAB, img_size=IMG)
    cfg.update(overrides)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def samples():
    """A caption sample and a VQA sample (mmpretrain COCOVQA style)."""
    cap = DataSample()
    cap.set_field('a photo of a cat and a dog.', 'gt_caption')
    vqa = DataSample(metainfo=dict(question='Is there a red circle?'))
    vqa.set_field(['no', 'yes'], 'gt_answer')
    vqa.set_field([0.3, 0.7], 'gt_answer_weight')
    return [cap, vqa]


def images(n=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, IMG, IMG, generator=g)


@pytest.fixture(scope='module')
def model(tokenizer_dir):
    return build_tiny(tokenizer_dir, freeze_vision=False)


def test_only_answer_tokens_carry_loss(model):
    data = samples()
    batch = model.build_batch(images(), data, with_targets=True,
                              padding_side='right')
    labels, mask = batch['labels'], batch['attention_mask']
    # Targets: the caption / the highest-weighted answer, then EOS.
    targets = [model.target_ids('a photo of a cat and a dog.'),
               model.target_ids('yes')]
    assert targets[1][-1] == model.tokenizer.eos_token_id
    for b, tgt in enumerate(targets):
        n_real = int(mask[b].sum())
        assert mask[b, :n_real].all() and not mask[b, n_real:].any()
        # Right padding: the labelled positions are the last real ones.
        assert labels[b, n_real - len(tgt):n_real].tolist() == tgt
        # System prompt, question, image positions and padding: no loss.
        assert (labels[b, :n_real - len(tgt)] == IGNORE_INDEX).all()
        assert (labels[b, n_real:] == IGNORE_INDEX).all()

    # The model's loss is the mean cross-entropy over those positions only.
    model.eval()
    with torch.no_grad():
        loss = model.loss(images(), data)['loss']
        logits = model.lang_encoder(
            inputs_embeds=batch['inputs_embeds'],
            attention_mask=batch['attention_mask'],
            position_ids=batch['position_ids']).logits
        # ... and equals transformers' own causal-LM loss on those labels.
        hf_loss = model.lang_encoder(
            inputs_embeds=batch['inputs_embeds'],
            attention_mask=batch['attention_mask'],
            position_ids=batch['position_ids'], labels=labels).loss
    torch.testing.assert_close(loss, hf_loss, rtol=1e-5, atol=1e-5)
    pred, gold = [], []
    for b, tgt in enumerate(targets):
        n_real = int(mask[b].sum())
        for pos in range(n_real - len(tgt), n_real):
            pred.append(logits[b, pos - 1])  # token at pos is predicted
            gold.append(int(labels[b, pos]))  # from the position before
    manual = F.cross_entropy(torch.stack(pred), torch.tensor(gold))
    torch.testing.assert_close(loss, manual, rtol=1e-5, atol=1e-5)


def test_prompt_side_changes_do_not_move_the_loss_mask(model):
    """Another question changes the prompt, never which ids are labels."""
    data = samples()
    longer = samples()
    longer[1].set_metainfo(dict(
        question='Is there a red circle on the left of the blue square?'))
    a = model.build_batch(images(), data, with_targets=True,
                          padding_side='right')['labels']
    b = model.build_batch(images(), longer, with_targets=True,
                          padding_side='right')['labels']
    for la, lb in zip(a, b):
        assert la[la != IGNORE_INDEX].tolist() == lb[lb != IGNORE_INDEX]\
            .tolist()


def test_missing_target_is_a_clear_error(model):
    with pytest.raises(KeyError, match='gt_caption'):
        model.loss(images(1), [DataSample()])


def _train_steps(model, n_steps, lr=3e-3):
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr)
    model.train()
    losses = []
    for _ in range(n_steps):
        loss = model.loss(images(), samples())['loss']
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_a_few_steps_reduce_the_loss(tokenizer_dir):
    model = build_tiny(tokenizer_dir, freeze_vision=False)
    losses = _train_steps(model, 15)
    assert losses[-1] < 0.5 * losses[0], losses


@pytest.mark.parametrize('recipe,frozen,trained', [
    # LLaVA stage 1: only the projector learns.
    (dict(freeze_vision=True, freeze_projector=False, freeze_lm=True),
     ('vision_tower', 'lang_encoder'), ('projector', )),
    # LLaVA stage 2: projector and LLM learn, the vision tower is frozen.
    (dict(freeze_vision=True, freeze_projector=False, freeze_lm=False),
     ('vision_tower', ), ('projector', 'lang_encoder')),
])
def test_frozen_parts_do_not_change(tokenizer_dir, recipe, frozen, trained):
    model = build_tiny(tokenizer_dir, **recipe)
    projector = {f'model.lang_encoder.model.mm_projector.{k}'
                 for k, _ in model.projector.named_parameters()}

    def part(name):
        if name in projector:
            return 'projector'
        return name.split('.')[1]  # vision_tower / lang_encoder

    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    _train_steps(model, 2)
    changed = {part(k) for k, v in model.named_parameters()
               if not torch.equal(v, before[k])}
    unchanged = {part(k) for k, v in model.named_parameters()
                 if torch.equal(v, before[k])}
    assert changed == set(trained)
    assert set(frozen) <= unchanged
    for k, v in model.named_parameters():
        assert v.requires_grad == (part(k) in trained), k


def test_append_to_question_matches_the_vqa_template(tokenizer_dir):
    """Caption template + suffixed question == VQA template + question."""
    vqa = build_tiny(tokenizer_dir)
    vqa_tmpl = tiny_llava_model_cfg(tokenizer_dir, VOCAB, task='vqa')
    vqa.prompt_tmpl = vqa_tmpl['prompt_tmpl']
    mixed = build_tiny(tokenizer_dir)  # the plain {question} template
    out = AppendToQuestion()(dict(question='What colour is the circle?'))
    assert out['question'] == ('What colour is the circle?\nAnswer the '
                               'question using a single word or phrase.')
    assert mixed.tokenize_prompt(mixed.format_prompt(out['question'])) == \
        vqa.tokenize_prompt(vqa.format_prompt('What colour is the circle?'))
    # Applied twice (e.g. a question that already has it): unchanged.
    assert AppendToQuestion()(dict(out))['question'] == out['question']
    with pytest.raises(KeyError, match='question'):
        AppendToQuestion()(dict(gt_caption='a cat.'))


def conversation_sample():
    """A two-turn LLaVA conversation (as LLaVAInstruct packs it)."""
    s = DataSample()
    s.set_field([['What colour is the circle?', 'red'],
                 ['Is there a square?', 'no']], 'conversation')
    return s


def test_conversation_labels_every_answer_and_no_question(model):
    """Turn 2 follows EOS as ``USER: q ASSISTANT:``; only answers count."""
    tok = model.tokenizer
    batch = model.build_batch(images(2), [conversation_sample(),
                                          samples()[0]],
                              with_targets=True, padding_side='right')
    ids = lambda text: tok(text, add_special_tokens=False).input_ids  # noqa
    red, no = model.target_ids('red'), model.target_ids('no')
    user = ids('USER: Is there a square? ASSISTANT:')
    n_real = int(batch['attention_mask'][0].sum())
    labels = batch['labels'][0, :n_real].tolist()
    tail = red + user + no
    assert labels[-len(tail):] == red + [IGNORE_INDEX] * len(user) + no
    assert set(labels[:-len(tail)]) == {IGNORE_INDEX}
    # The inputs at those positions are exactly these ids.
    emb = model.lang_encoder.get_input_embeddings()
    torch.testing.assert_close(batch['inputs_embeds'][0, n_real - len(tail):
                                                      n_real],
                               emb(torch.tensor(tail)))
    # The first turn is an ordinary prompt: same ids as at inference.
    single = DataSample(metainfo=dict(question='What colour is the circle?'))
    single.set_field('red', 'gt_answer')
    one = model.build_batch(images(1), [single], with_targets=True,
                            padding_side='right')
    n_one = int(one['attention_mask'][0].sum())
    torch.testing.assert_close(one['inputs_embeds'][0, :n_one],
                               batch['inputs_embeds'][0, :n_one])


def test_conversations_train(tokenizer_dir):
    model = build_tiny(tokenizer_dir, freeze_vision=False)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(15):
        loss = model.loss(images(2), [conversation_sample(),
                                      conversation_sample()])['loss']
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


def test_bad_conversation_is_a_clear_error(model):
    bad = DataSample()
    bad.set_field([['only a question']], 'conversation')
    with pytest.raises(ValueError, match=r'\[question, answer\] pairs'):
        model.loss(images(1), [bad])
