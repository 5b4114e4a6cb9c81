"""Conversations in the official LLaVA instruction-tuning JSON format."""
import os.path as osp
from typing import List

from mmengine.dataset import BaseDataset

from llava_mm.constants import IMAGE_TOKEN
from llava_mm.registry import DATASETS
from llava_mm.utils.data_files import describe, load_json, require_keys

from .coco_utils import (
    ImagePrefixMixin,
    NonEmptyMixin,
    drop_missing_images,
    image_id_of,
)


def _strip_image_token(text: str) -> str:
    """The first human turn without ``<image>`` and the newline beside it."""
    return text.replace(IMAGE_TOKEN + '\n', '').replace(
        '\n' + IMAGE_TOKEN, '').replace(IMAGE_TOKEN, '').strip()


def parse_conversation(turns: list, path: str, where: str) -> List[list]:
    """Check a LLaVA ``conversations`` list and pair its turns.

    Args:
        turns (list): ``[{"from": "human", "value": ...}, {"from": "gpt",
            "value": ...}, ...]``, human first, alternating.
        path (str): The file, for errors.
        where (str): The entry, for errors.

    Returns:
        list[list[str]]: ``[[question, answer], ...]`` with ``<image>``
        removed from the first question.
    """
    if not isinstance(turns, list) or not turns or len(turns) % 2:
        raise ValueError(
            f'{path}: {where} "conversations" must be a non-empty list of '
            f'human/gpt turn pairs, got {describe(turns)}.')
    pairs = []
    for k in range(0, len(turns), 2):
        for j, role in ((k, 'human'), (k + 1, 'gpt')):
            turn = turns[j]
            require_keys(turn, ('from', 'value'), path, f'{where} turn {j}')
            if turn['from'] != role or not isinstance(turn['value'], str):
                raise ValueError(
                    f'{path}: {where} turn {j} must be a '
                    f'"{role}" turn with a string "value" (turns alternate '
                    f'human, gpt), got from={turn["from"]!r}.')
        pairs.append([turns[k]['value'], turns[k + 1]['value']])
    n_image = sum(q.count(IMAGE_TOKEN) for q, _ in pairs)
    if n_image != 1 or IMAGE_TOKEN not in pairs[0][0]:
        raise ValueError(
            f'{path}: {where} must hold "{IMAGE_TOKEN}" once, in its first '
            f'human turn (found {n_image}); this package trains one-image '
            'conversations, so leave text-only entries out of the file.')
    pairs[0][0] = _strip_image_token(pairs[0][0])
    return pairs


@DATASETS.register_module()
class LLaVAInstruct(NonEmptyMixin, ImagePrefixMixin, BaseDataset):
    """Image conversations in LLaVA's instruction-tuning format.

    The annotation file is the JSON list the official LLaVA trains on (e.g.
    ``llava_v1_5_mix665k.json``)::

        [{"id": "...", "image": "coco/train2017/000000033471.jpg",
          "conversations": [
              {"from": "human", "value": "<image>\\nWhat is in the image?"},
              {"from": "gpt", "value": "A bus."},
              {"from": "human", "value": "What colour is it?"},
              {"from": "gpt", "value": "White."}]}, ...]

    Every entry must have one image and ``<image>`` in its first human turn
    (the model's ``prompt_tmpl`` decides where the image goes, so the token
    is removed from the text). Each sample has ``img_path``, ``image_id``
    (the 12-digit id the file name ends with, else the entry's position) and
    ``conversation``: ``[[question, answer], ...]``, which
    :class:`~llava_mm.models.Llava` trains on as one multi-turn sequence
    with a loss on every answer. Pack it with
    ``PackInputs(algorithm_keys=['conversation'])``.

    Args:
        data_root (str): Root of ``ann_file`` and the image folder.
        ann_file (str): Annotation file, relative to ``data_root``.
        data_prefix (str | dict): Image folder the ``image`` paths are
            relative to (``dict(img_path=...)`` or a str), itself relative
            to ``data_root``.
        pipeline (Sequence): Transforms.
        skip_missing (bool): Skip entries whose image file does not exist
            (one warning with the count) instead of failing.
        **kwargs: Other arguments of :class:`mmengine.dataset.BaseDataset`.
    """

    def load_data_list(self) -> List[dict]:
        """Read and check the annotation file.

        Returns:
            list[dict]: One sample per conversation.
        """
        path = self.ann_file
        entries = load_json(path, 'LLaVA instruction-tuning file')
        if not isinstance(entries, list) or not entries:
            raise ValueError(
                f'{path}: expected a non-empty JSON list of {{"image": ..., '
                f'"conversations": [...]}} entries (LLaVA format), got '
                f'{describe(entries)}.')
        img_prefix = self.data_prefix['img_path']
        data_list = []
        for i, entry in enumerate(entries):
            where = f'entry {i} (id {entry.get("id")!r})' if isinstance(
                entry, dict) else f'entry {i}'
            require_keys(entry, ('image', 'conversations'), path, where)
            image_id = image_id_of(entry['image'])
            data_list.append(dict(
                image_id=image_id if image_id >= 0 else i,
                img_path=osp.join(img_prefix, entry['image']),
                conversation=parse_conversation(entry['conversations'],
                                                path, where)))
        return drop_missing_images(
            data_list, self.skip_missing, 'LLaVAInstruct',
            lambda info: f'image {info["image_id"]}, no file '
            f'{info["img_path"]}')

    def conversation_lengths(self) -> List[int]:
        """Words per conversation (all turns), a proxy for its token count.

        :class:`~llava_mm.datasets.LengthGroupedSampler` batches by it.

        Returns:
            list[int]: One length per sample.
        """
        return [sum(len(q.split()) + len(a.split())
                    for q, a in self.get_data_info(i)['conversation'])
                for i in range(len(self))]
