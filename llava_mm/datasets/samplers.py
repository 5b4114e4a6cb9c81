"""Training samplers: length-grouped batches, and phases of a curriculum."""
from typing import Iterator, List, Optional, Sized

import torch
from mmengine.dataset import ConcatDataset, DefaultSampler

from llava_mm.registry import DATA_SAMPLERS


def length_grouped_indices(lengths: List[int], batch_size: int,
                           group_batches: int,
                           generator: torch.Generator) -> List[int]:
    """A random order in which every run of ``batch_size`` has similar lengths.

    The samples are shuffled, cut into groups of ``group_batches`` batches,
    sorted by length (longest first) inside each group, and the resulting
    batches are shuffled again, so long and short batches alternate.

    Args:
        lengths (list[int]): A length per sample.
        batch_size (int): Samples per batch (per step over all processes).
        group_batches (int): Batches per sorting group; larger groups pad
            less and are less random.
        generator (torch.Generator): The random source.

    Returns:
        list[int]: A permutation of ``range(len(lengths))``.
    """
    perm = torch.randperm(len(lengths), generator=generator).tolist()
    group = batch_size * group_batches
    batches = []
    for start in range(0, len(perm), group):
        chunk = sorted(perm[start:start + group], key=lambda i: -lengths[i])
        batches += [chunk[k:k + batch_size]
                    for k in range(0, len(chunk), batch_size)]
    order = torch.randperm(len(batches), generator=generator).tolist()
    return [i for b in order for i in batches[b]]


@DATA_SAMPLERS.register_module()
class LengthGroupedSampler(DefaultSampler):
    """:class:`mmengine.dataset.DefaultSampler` with length-grouped batches.

    Like the official LLaVA's ``group_by_modality_length``: batches are
    drawn from samples of similar length, so a short caption conversation
    is not padded to the longest multi-turn conversation of its batch. The
    dataset must have ``conversation_lengths()`` (e.g.
    :class:`~llava_mm.datasets.LLaVAInstruct`). Over several processes a
    step's ``batch_size * world_size`` samples form one length group and
    each process takes every ``world_size``-th of them.

    Args:
        dataset (Sized): The dataset.
        batch_size (int): The dataloader's batch size (per process); give
            it here too, e.g. from one ``batch_size`` variable of the config.
        group_batches (int): Batches per sorting group. Defaults to 16.
        shuffle (bool): Must be True (a fixed order has nothing to group).
        seed (int, optional): Random seed; the Runner passes its own.
        round_up (bool): As in ``DefaultSampler``.
    """

    def __init__(self,
                 dataset: Sized,
                 batch_size: int,
                 group_batches: int = 16,
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 round_up: bool = True) -> None:
        if not shuffle:
            raise ValueError('LengthGroupedSampler shuffles by design; use '
                             'DefaultSampler for a fixed order.')
        if batch_size < 1 or group_batches < 1:
            raise ValueError(f'batch_size and group_batches must be >= 1, '
                             f'got {batch_size} and {group_batches}.')
        if not hasattr(dataset, 'conversation_lengths'):
            raise TypeError(
                f'LengthGroupedSampler needs a dataset with '
                f'conversation_lengths() (e.g. LLaVAInstruct); '
                f'{type(dataset).__name__} has none. Use DefaultSampler.')
        super().__init__(dataset, shuffle=True, seed=seed, round_up=round_up)
        self.batch_size = batch_size
        self.group_batches = group_batches
        self.lengths = list(dataset.conversation_lengths())

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator()
        g.manual_seed(self.seed + self.epoch)
        indices = length_grouped_indices(
            self.lengths, self.batch_size * self.world_size,
            self.group_batches, g)
        if self.round_up:
            indices = (indices * int(self.total_size / len(indices) +
                                     1))[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.world_size])


@DATA_SAMPLERS.register_module()
class PhaseSampler(DefaultSampler):
    """Train in phases, each drawing its batches from one part of a
    :class:`mmengine.dataset.ConcatDataset`.

    A curriculum inside one run: e.g. mixed training, then a stretch of one
    kind of question alone, then mixed training again. Each part is read in
    a random order that goes on across its phases (reshuffled whenever the
    part is used up). One pass over the sampler is the whole schedule, so
    set ``train_cfg.max_iters`` to the sum of the phases' ``iters``. Over
    several processes a step's ``batch_size * world_size`` samples come
    from the same phase and each process takes every ``world_size``-th.

    Args:
        dataset (ConcatDataset): The parts.
        phases (list[dict]): ``dict(dataset=i, iters=n)``: ``n`` batches from
            ``dataset.datasets[i]``, in order.
        batch_size (int): The dataloader's batch size (per process); give it
            here too, e.g. from one ``batch_size`` variable of the config.
        seed (int, optional): Random seed; the Runner passes its own.
    """

    def __init__(self,
                 dataset: ConcatDataset,
                 phases: List[dict],
                 batch_size: int,
                 seed: Optional[int] = None) -> None:
        if not isinstance(dataset, ConcatDataset):
            raise TypeError(
                f'PhaseSampler needs a ConcatDataset (its phases name parts '
                f'of it), got {type(dataset).__name__}.')
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}.')
        parts = len(dataset.datasets)
        for k, phase in enumerate(phases):
            if (not isinstance(phase, dict)
                    or set(phase) != {'dataset', 'iters'}
                    or phase['dataset'] not in range(parts)
                    or not isinstance(phase['iters'], int)
                    or phase['iters'] < 1):
                raise ValueError(
                    f'phases[{k}] must be dict(dataset=i, iters=n) with 0 <= '
                    f'i < {parts} (the ConcatDataset has {parts} parts) and '
                    f'n >= 1, got {phase!r}.')
        if not phases:
            raise ValueError('phases is empty: give at least one phase.')
        super().__init__(dataset, shuffle=True, seed=seed, round_up=True)
        self.phases = [dict(p) for p in phases]
        self.batch_size = batch_size
        self.sizes = [len(d) for d in dataset.datasets]
        self.offsets = [0] + list(dataset.cumulative_sizes[:-1])
        self.num_samples = sum(p['iters'] for p in phases) * batch_size
        self.total_size = self.num_samples * self.world_size

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator()
        g.manual_seed(self.seed + self.epoch)
        queues = [[] for _ in self.sizes]
        indices = []
        for phase in self.phases:
            part, queue = phase['dataset'], queues[phase['dataset']]
            n = phase['iters'] * self.batch_size * self.world_size
            while len(queue) < n:
                queue += torch.randperm(self.sizes[part],
                                        generator=g).tolist()
            indices += [self.offsets[part] + i for i in queue[:n]]
            del queue[:n]
        return iter(indices[self.rank::self.world_size])
