# COCO Karpathy test split, mmpretrain `COCOCaption` format:
#   data/coco/annotations/coco_karpathy_test.json     [{image, caption, ...}]
#   data/coco/annotations/coco_karpathy_test_gt.json  COCO-format captions
#   data/coco/val2014/COCO_val2014_*.jpg
data_root = 'data/coco'

test_dataloader = dict(
    # 'auto': by device in tools/test.py (llava_mm/engine/batching.py).
    batch_size='auto',
    num_workers='auto',  # 0 on CPUs, 2 on GPUs
    dataset=dict(
        type='COCOCaption',
        data_root=data_root,
        ann_file='annotations/coco_karpathy_test.json',
    ),
    sampler=dict(type='DefaultSampler', shuffle=False),
    persistent_workers=False,
)

test_evaluator = dict(
    type='COCOCaption',
    ann_file=f'{data_root}/annotations/coco_karpathy_test_gt.json',
)

# Predictions go to the work dir as they are made; resumable (--resume).
test_cfg = dict(type='ResumableTestLoop')
