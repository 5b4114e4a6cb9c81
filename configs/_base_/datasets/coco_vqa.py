# VQAv2 val, official format:
#   data/coco/annotations/v2_OpenEnded_mscoco_val2014_questions.json
#   data/coco/annotations/v2_mscoco_val2014_annotations.json
#   data/coco/val2014/COCO_val2014_*.jpg
data_root = 'data/coco'

test_dataloader = dict(
    # 'auto': by device in tools/test.py (llava_mm/engine/batching.py).
    batch_size='auto',
    num_workers='auto',  # 0 on CPUs, 2 on GPUs
    dataset=dict(
        type='COCOVQA',
        data_root=data_root,
        data_prefix='val2014',
        question_file='annotations/v2_OpenEnded_mscoco_val2014_questions.json',
        ann_file='annotations/v2_mscoco_val2014_annotations.json',
    ),
    sampler=dict(type='DefaultSampler', shuffle=False),
    persistent_workers=False,
)

test_evaluator = dict(type='VQAAcc')

# Predictions go to the work dir as they are made; resumable (--resume).
test_cfg = dict(type='ResumableTestLoop')
