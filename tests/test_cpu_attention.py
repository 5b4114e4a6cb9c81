"""'llava_mm_sdpa': SDPA, with matmul attention for CPU decode steps."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from transformers import AutoConfig, AutoModelForCausalLM

from llava_mm.ops.cpu import attention as cpu_attention
from tiny import tiny_text_config


@pytest.mark.parametrize('groups', [1, 2])
@pytest.mark.parametrize('mask_kind', ['none', 'bool', 'float'])
def test_decode_attention_equals_sdpa(groups, mask_kind):
    g = torch.Generator().manual_seed(0)
    B, H, S, D = 3, 4, 9, 8
    q = torch.randn(B, H, 1, D, generator=g)
    k = torch.randn(B, H // groups, S, D, generator=g)
    v = torch.randn(B, H // groups, S, D, generator=g)
    keep = torch.ones(B, 1, 1, S, dtype=torch.bool)
    keep[1, ..., :3] = False  # left padding of the second sequence
    mask = {'none': None, 'bool': keep,
            'float': torch.zeros(B, 1, 1, S).masked_fill(~keep, -1e9)
            }[mask_kind]
    module = nn.Module()
    module.num_key_value_groups = groups
    out = cpu_attention.decode_attention(module, q, k, v, mask, D**-0.5)
    ref = F.scaled_dot_product_attention(
        q, k.repeat_interleave(groups, 1), v.repeat_interleave(groups, 1),
        attn_mask=None if mask is None else mask)
    assert out.shape == (B, 1, H, D)
    torch.testing.assert_close(out, ref.transpose(1, 2), rtol=1e-5,
                               atol=1e-6)


def test_the_lm_uses_it_for_decode_steps_only(monkeypatch):
    calls = []
    real = cpu_attention.decode_attention

    def counting(*args, **kwargs):
        calls.append(args[1].shape)  # the query
        return real(*args, **kwargs)

    monkeypatch.setattr(cpu_attention, 'decode_attention', counting)
    cfg = AutoConfig.for_model(**tiny_text_config(300))
    torch.manual_seed(0)
    lm = AutoModelForCausalLM.from_config(
        cfg, attn_implementation=cpu_attention.ATTN_IMPLEMENTATION).eval()
    # (its own config: the attention choice is stored on the config)
    ref = AutoModelForCausalLM.from_config(
        AutoConfig.for_model(**tiny_text_config(300)),
        attn_implementation='sdpa')
    ref.load_state_dict(lm.state_dict())
    ids = torch.randint(3, 300, (2, 7), generator=torch.Generator()
                        .manual_seed(1))
    mask = torch.ones_like(ids)
    mask[0, :2] = 0
    kw = dict(input_ids=ids, attention_mask=mask, max_new_tokens=5,
              min_new_tokens=5, do_sample=False, pad_token_id=0,
              output_scores=True, return_dict_in_generate=True)
    out = lm.generate(**kw)
    expected = ref.eval().generate(**kw)
    assert torch.equal(out.sequences, expected.sequences)
    for a, b in zip(out.scores, expected.scores):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5)
    # 4 decode steps x 2 layers, all single queries; the prompt pass and
    # training keep SDPA.
    n_layers = cfg.num_hidden_layers
    assert len(calls) == 4 * n_layers
    assert all(s[2] == 1 for s in calls)
    lm.train()
    lm(input_ids=ids[:, :1])
    assert len(calls) == 4 * n_layers
