# ScienceQA-IMG (test split), in the layout of LLaVA's docs/Evaluation.md:
#   playground/data/eval/scienceqa/llava_test_CQM-A.json   (LLaVA's eval.zip)
#   playground/data/eval/scienceqa/problems.json, pid_splits.json
#   playground/data/eval/scienceqa/images/test/<id>/image.png
#     (the last three from data/scienceqa of the ScienceQA repository)
data_root = 'playground/data/eval/scienceqa'

test_dataloader = dict(
    batch_size='auto',  # by device: llava_mm/engine/batching.py
    num_workers='auto',  # 0 on CPUs, 2 on GPUs
    dataset=dict(
        type='ScienceQA',
        data_root=data_root,
        question_file='llava_test_CQM-A.json',
        ann_file='problems.json',
        split_file='pid_splits.json',
        split='test',
        data_prefix='images/test',
    ),
    sampler=dict(type='DefaultSampler', shuffle=False),
    persistent_workers=False,
)

test_evaluator = dict(type='ScienceQAMetric')

# Predictions go to the work dir as they are made; resumable (--resume).
test_cfg = dict(type='ResumableTestLoop')
