# GQA test-dev balanced, in the layout of LLaVA's docs/Evaluation.md:
#   playground/data/eval/gqa/llava_gqa_testdev_balanced.jsonl (LLaVA's eval.zip)
#   playground/data/eval/gqa/data/testdev_balanced_questions.json (GQA release)
#   playground/data/eval/gqa/data/images/<imageId>.jpg
data_root = 'playground/data/eval/gqa'

test_dataloader = dict(
    batch_size='auto',  # by device: llava_mm/engine/batching.py
    num_workers='auto',  # 0 on CPUs, 2 on GPUs
    dataset=dict(
        type='GQA',
        data_root=data_root,
        question_file='llava_gqa_testdev_balanced.jsonl',
        ann_file='data/testdev_balanced_questions.json',
        data_prefix='data/images',
    ),
    sampler=dict(type='DefaultSampler', shuffle=False),
    persistent_workers=False,
)

# Also writes <work_dir>/testdev_balanced_predictions.json for GQA's eval.py.
test_evaluator = dict(type='GQAAcc')

# Predictions go to the work dir as they are made; resumable (--resume).
test_cfg = dict(type='ResumableTestLoop')
