# Synthetic shapes, held-out caption split (COCO Karpathy format). Make it:
#   python projects/tiny_shapes/make_shapes.py --out data/shapes --split test \
#       --num-images 500 --seed 1
data_root = 'data/shapes'

test_dataloader = dict(
    batch_size=32,
    num_workers=0,
    dataset=dict(
        type='COCOCaption',
        data_root=data_root,
        ann_file='annotations/shapes_test.json',
    ),
    sampler=dict(type='DefaultSampler', shuffle=False),
)

test_evaluator = dict(
    type='COCOCaption',
    ann_file=f'{data_root}/annotations/shapes_test_gt.json',
)

# Predictions go to the work dir as they are made; resumable (--resume).
test_cfg = dict(type='ResumableTestLoop')
