"""COCO captions in the Karpathy-split format of mmpretrain/BLIP."""
import os.path as osp
from typing import List

from mmpretrain.datasets import COCOCaption as _MMPretrainCOCOCaption

from llava_mm.registry import DATASETS
from llava_mm.utils.data_files import describe, load_json, require_keys

from .coco_utils import (
    ImagePrefixMixin,
    NonEmptyMixin,
    drop_missing_images,
    image_id_of,
)


def _int_id(value) -> int:
    """An image id given as int or digit string, else -1."""
    if isinstance(value, bool):
        return -1
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return -1


@DATASETS.register_module()
class COCOCaption(NonEmptyMixin, ImagePrefixMixin,
                  _MMPretrainCOCOCaption):
    """COCO caption dataset (Karpathy split, mmpretrain format).

    The annotation file is a JSON list of
    ``{"image": "val2014/COCO_val2014_000000000042.jpg",
    "caption": [...] or "...", "image_id": ...}`` (``image_id`` optional).
    The image id is the 12-digit number the file name ends with, or the
    entry's integer ``image_id``; when both exist they must agree. It is the
    id of the COCO-format ground truth the caption metric reads.

    Each sample has ``img_path``, ``image_id`` (int) and ``gt_caption`` (as
    in the file).

    Args:
        data_root (str): Root of ``ann_file`` and the image paths.
        ann_file (str): Annotation file, relative to ``data_root``.
        data_prefix (str | dict): Image folder the ``image`` paths are
            relative to (``dict(img_path=...)`` or a str), itself relative
            to ``data_root``. Defaults to ``data_root``.
        pipeline (Sequence): Transforms.
        skip_missing (bool): Skip samples whose image file does not exist
            (one warning with the count) instead of failing.
        **kwargs: Other arguments of :class:`mmengine.dataset.BaseDataset`.
    """

    def load_data_list(self) -> List[dict]:
        """Read and check the annotation file.

        Returns:
            list[dict]: One sample per entry.
        """
        path = self.ann_file
        annotations = load_json(path, 'COCO caption annotation file')
        if not isinstance(annotations, list):
            raise ValueError(
                f'{path}: expected a JSON list of {{"image": ..., "caption": '
                f'...}} entries (mmpretrain/Karpathy format), got '
                f'{describe(annotations)}.')
        if not annotations:
            raise ValueError(f'{path}: the annotation list is empty.')
        img_prefix = self.data_prefix['img_path']
        data_list = []
        for i, ann in enumerate(annotations):
            where = f'entry {i}'
            require_keys(ann, ('image', 'caption'), path, where)
            caption = ann['caption']
            if not (isinstance(caption, str) or
                    (isinstance(caption, list) and caption
                     and all(isinstance(c, str) for c in caption))):
                raise ValueError(f'{path}: {where} "caption" must be a '
                                 'string or a non-empty list of strings.')
            data_list.append(dict(
                image_id=self._image_id(ann, path, where),
                img_path=osp.join(img_prefix, ann['image']),
                gt_caption=caption))
        return drop_missing_images(
            data_list, self.skip_missing, 'COCOCaption',
            lambda info: f'image {info["image_id"]}, no file '
            f'{info["img_path"]}')

    @staticmethod
    def _image_id(ann: dict, path: str, where: str) -> int:
        from_name = image_id_of(ann['image'])
        given = _int_id(ann.get('image_id'))
        if from_name >= 0 and given >= 0 and from_name != given:
            raise ValueError(
                f'{path}: {where} has image_id {ann["image_id"]} but its '
                f'file name {ann["image"]} ends in the id {from_name}.')
        image_id = from_name if from_name >= 0 else given
        if image_id < 0:
            raise ValueError(
                f'{path}: {where} has no image id: its "image" '
                f'({ann["image"]}) does not end in a 12-digit id and it has '
                'no integer "image_id".')
        return image_id
