# Synthetic shapes, held-out VQA split (official VQAv2 format). Make it:
#   python projects/tiny_shapes/make_shapes.py --out data/shapes --split test \
#       --num-images 500 --seed 1
data_root = 'data/shapes'

test_dataloader = dict(
    batch_size=32,
    num_workers=0,
    dataset=dict(
        type='COCOVQA',
        data_root=data_root,
        data_prefix='test',
        question_file='annotations/shapes_test_questions.json',
        ann_file='annotations/shapes_test_annotations.json',
    ),
    sampler=dict(type='DefaultSampler', shuffle=False),
)

test_evaluator = dict(type='VQAAcc')

# Predictions go to the work dir as they are made; resumable (--resume).
test_cfg = dict(type='ResumableTestLoop')
