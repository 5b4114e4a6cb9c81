"""Helpers shared by the COCO caption and VQAv2 datasets.

They find images by the 12-digit COCO image id at the end of their file
names, and drop (or refuse) samples whose image is missing.
"""
import logging
import os
import os.path as osp
import re
from typing import Callable, Dict, List, Sequence, Union

from mmengine.logging import print_log

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.gif', '.tif',
                    '.tiff')
# A file stem ending in the 12-digit, zero-padded COCO image id, e.g.
# ``COCO_val2014_000000000042`` or ``shapes_000000000042``.
_ID_AT_END = re.compile(r'(?<!\d)(\d{12})$')


def image_id_of(file_name: str) -> int:
    """The COCO image id a file name ends with, or -1 when it has none.

    Args:
        file_name (str): A file name or path, e.g.
            ``'val2014/COCO_val2014_000000000042.jpg'``.

    Returns:
        int: The id (42), or -1.
    """
    stem, ext = osp.splitext(osp.basename(file_name))
    match = _ID_AT_END.search(stem)
    if match is None or ext.lower() not in IMAGE_EXTENSIONS:
        return -1
    return int(match.group(1))


def index_images_by_id(img_dir: str) -> Dict[int, str]:
    """Map image id -> path for the images of a folder.

    Args:
        img_dir (str): A folder of images whose names end in the 12-digit
            image id (``COCO_val2014_000000000042.jpg``).

    Returns:
        dict: Image id -> file path.
    """
    if not osp.isdir(img_dir):
        raise FileNotFoundError(
            f'Image folder not found: {img_dir}. Set data_root/data_prefix '
            'to the folder holding the images (e.g. data/coco/val2014).')
    index: Dict[int, str] = {}
    for name in sorted(os.listdir(img_dir)):
        image_id = image_id_of(name)
        if image_id < 0:
            continue
        if image_id in index:
            raise ValueError(
                f'Two images in {img_dir} have the image id {image_id}: '
                f'{osp.basename(index[image_id])} and {name}. Keep one.')
        index[image_id] = osp.join(img_dir, name)
    return index


def drop_missing_images(data_list: List[dict], skip_missing: bool,
                        dataset: str, explain: Callable[[dict], str]
                        ) -> List[dict]:
    """Check every sample's image; fail on the first missing one or skip.

    Args:
        data_list (list[dict]): Samples with ``img_path`` (None when no file
            was found for the sample).
        skip_missing (bool): Skip samples without an image (one warning
            with the count) instead of failing.
        dataset (str): Dataset name for the messages.
        explain (Callable[[dict], str]): Describes a sample and where its
            image was looked for.

    Returns:
        list[dict]: The samples whose image exists.
    """
    kept, missing = [], []
    for index, info in enumerate(data_list):
        path = info.get('img_path')
        if path is not None and osp.isfile(path):
            kept.append(info)
            continue
        if not skip_missing:
            raise FileNotFoundError(
                f'{dataset}: the image of sample {index} is missing: '
                f'{explain(info)}. Fix the data, or set skip_missing=True '
                'in the dataset config to skip such samples.')
        missing.append(index)
    if missing:
        print_log(
            f'{dataset}: skipped {len(missing)} of {len(data_list)} samples '
            f'whose image is missing (first: sample {missing[0]}, '
            f'{explain(data_list[missing[0]])}).',
            logger='current', level=logging.WARNING)
    return kept


class NonEmptyMixin:
    """Make a :class:`BaseDataset` with no samples an error.

    Checked after loading and filtering (before mmengine serialises the
    list, which fails obscurely on an empty one) and after subsetting.
    """

    def _check_not_empty(self, n: int) -> None:
        if n == 0:
            source = getattr(self, 'question_file', None) or self.ann_file
            raise ValueError(
                f'{type(self).__name__} has no samples (from {source}). '
                'Check the annotation file, the images, and the '
                'indices/filter options.')

    def filter_data(self) -> List[dict]:
        """Filter as the base class does; fail when nothing is left.

        Returns:
            list[dict]: The samples.
        """
        data_list = super().filter_data()
        self._check_not_empty(len(data_list))
        return data_list

    def full_init(self) -> None:
        """Load the annotations; an empty result is an error."""
        if self._fully_initialized:
            return
        super().full_init()
        self._check_not_empty(len(self))


class ImagePrefixMixin:
    """``__init__`` of the datasets whose entries name their image file.

    ``data_prefix`` may be a str (the image folder) or
    ``dict(img_path=...)``; ``skip_missing`` is kept for
    :func:`drop_missing_images`. Everything else goes to the base class.
    """

    def __init__(self,
                 data_root: str = '',
                 ann_file: str = '',
                 data_prefix: Union[str, dict] = '',
                 pipeline: Sequence = (),
                 skip_missing: bool = False,
                 **kwargs) -> None:
        if isinstance(data_prefix, str):
            data_prefix = dict(img_path=data_prefix)
        self.skip_missing = skip_missing
        super().__init__(data_root=data_root, ann_file=ann_file,
                         data_prefix=data_prefix, pipeline=pipeline,
                         **kwargs)
