"""LengthGroupedSampler: a permutation whose batches have similar lengths."""
import json

import pytest
import torch
from mmengine.registry import init_default_scope
from PIL import Image

from llava_mm.datasets import LengthGroupedSampler, PhaseSampler
from llava_mm.datasets.samplers import length_grouped_indices
from llava_mm.registry import DATA_SAMPLERS, DATASETS

BS = 4


def padded_tokens(order, lengths, batch_size):
    batches = [order[k:k + batch_size]
               for k in range(0, len(order), batch_size)]
    return sum(len(b) * max(lengths[i] for i in b) for b in batches)


def test_batches_group_similar_lengths():
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(5, 200, (400, ), generator=g).tolist()
    order = length_grouped_indices(lengths, BS, 8,
                                   torch.Generator().manual_seed(1))
    assert sorted(order) == list(range(400))
    random_order = torch.randperm(400, generator=g).tolist()
    grouped = padded_tokens(order, lengths, BS)
    assert grouped < 0.8 * padded_tokens(random_order, lengths, BS)
    assert grouped < 1.15 * sum(lengths)
    # Long and short batches are shuffled, not sorted over the epoch.
    firsts = [lengths[order[k]] for k in range(0, 400, BS)]
    assert firsts != sorted(firsts, reverse=True)


@pytest.fixture
def conversations(tmp_path):
    entries = []
    for i in range(30):
        turns = [{'from': 'human', 'value': '<image>\nWhat is it?'},
                 {'from': 'gpt', 'value': 'A shape.'}]
        for _ in range(i % 3 * 4):  # 1, 5 or 9 turns
            turns += [{'from': 'human', 'value': 'And its colour?'},
                      {'from': 'gpt', 'value': 'Red.'}]
        entries.append(dict(id=str(i), image=f'{i:012d}.png',
                            conversations=turns))
        Image.new('RGB', (4, 4)).save(tmp_path / f'{i:012d}.png')
    (tmp_path / 'conv.json').write_text(json.dumps(entries))
    init_default_scope('llava_mm')
    return DATASETS.build(dict(type='LLaVAInstruct',
                               data_root=str(tmp_path),
                               ann_file='conv.json'))


def test_sampler_over_processes_and_epochs(conversations):
    lengths = conversations.conversation_lengths()
    assert sorted(set(lengths)) == [5, 21, 37]  # words in all turns
    per_rank = []
    for rank in range(2):
        sampler = DATA_SAMPLERS.build(dict(
            type='LengthGroupedSampler', batch_size=BS, group_batches=4,
            dataset=conversations, seed=0))
        sampler.rank, sampler.world_size = rank, 2
        sampler.num_samples = 15
        sampler.total_size = 30
        per_rank.append(list(sampler))
    assert sorted(per_rank[0] + per_rank[1]) == list(range(30))
    # The same step of both processes reads one length group.
    for k in range(0, 12, BS):
        batch = per_rank[0][k:k + BS] + per_rank[1][k:k + BS]
        spread = [lengths[i] for i in batch]
        assert max(spread) - min(spread) <= 16, spread  # never 5 with 37
    sampler.set_epoch(1)
    assert list(sampler) != per_rank[1]


def test_sampler_refuses_what_it_cannot_group(conversations):
    with pytest.raises(TypeError, match='conversation_lengths'):
        LengthGroupedSampler(list(range(10)), batch_size=BS)
    with pytest.raises(ValueError, match='shuffles'):
        LengthGroupedSampler(conversations, batch_size=BS, shuffle=False)


def _concat(conversations, n_second):
    """Two parts: the 30 conversations, then the first ``n_second`` again."""
    from mmengine.dataset import ConcatDataset
    second = conversations.get_subset(n_second)
    return ConcatDataset([conversations, second])


def test_phase_sampler_schedule(conversations):
    data = _concat(conversations, 7)
    phases = [dict(dataset=0, iters=3), dict(dataset=1, iters=4),
              dict(dataset=0, iters=5)]
    sampler = DATA_SAMPLERS.build(dict(
        type='PhaseSampler', phases=phases, batch_size=BS, dataset=data,
        seed=0))
    order = list(sampler)
    assert len(order) == len(sampler) == (3 + 4 + 5) * BS
    first, second, third = order[:12], order[12:28], order[28:]
    assert all(i < 30 for i in first + third)
    assert all(30 <= i < 37 for i in second)
    # a part's order goes on across its phases: all 30 before any repeat
    assert len(set((first + third)[:30])) == 30
    assert len(set(second[:7])) == 7 and set(second) == set(range(30, 37))
    # a batch of the middle phase is all from the second part, and the
    # loader gets its samples
    assert data[second[0]]['conversation'] == \
        conversations[second[0] - 30]['conversation']
    again = DATA_SAMPLERS.build(dict(
        type='PhaseSampler', phases=phases, batch_size=BS, dataset=data,
        seed=0))
    assert list(again) == order
    sampler.set_epoch(1)
    assert list(sampler) != order


def test_phase_sampler_over_processes(conversations, monkeypatch):
    data = _concat(conversations, 7)
    phases = [dict(dataset=1, iters=2), dict(dataset=0, iters=2)]
    per_rank = []
    for rank in range(2):
        monkeypatch.setattr('mmengine.dataset.sampler.get_dist_info',
                            lambda rank=rank: (rank, 2))
        sampler = DATA_SAMPLERS.build(dict(
            type='PhaseSampler', phases=phases, batch_size=BS,
            dataset=data, seed=0))
        per_rank.append(list(sampler))
        assert len(per_rank[-1]) == len(sampler) == 4 * BS
    for step in range(4):
        batch = [i for r in per_rank for i in r[step * BS:(step + 1) * BS]]
        in_second = [i >= 30 for i in batch]
        assert all(in_second) if step < 2 else not any(in_second)
    # the processes share one draw: no sample twice in the second phase
    mixed = [i for r in per_rank for i in r[2 * BS:]]
    assert len(set(mixed)) == len(mixed) == 4 * BS


def test_phase_sampler_refuses_bad_phases(conversations):
    data = _concat(conversations, 7)
    with pytest.raises(TypeError, match='ConcatDataset'):
        PhaseSampler(conversations, [dict(dataset=0, iters=1)], BS)
    for bad in ([dict(dataset=2, iters=1)], [dict(dataset=0, iters=0)],
                [dict(dataset=0)], [dict(dataset=0, iters=1, lr=1)]):
        with pytest.raises(ValueError, match=r'phases\[0\] must be'):
            PhaseSampler(data, bad, BS)
    with pytest.raises(ValueError, match='empty'):
        PhaseSampler(data, [], BS)
