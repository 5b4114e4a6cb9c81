# MMBench dev (English), in the layout of LLaVA's docs/Evaluation.md:
#   playground/data/eval/mmbench/mmbench_dev_20230712.tsv (images inside)
data_root = 'playground/data/eval/mmbench'

test_dataloader = dict(
    batch_size='auto',  # by device: llava_mm/engine/batching.py
    num_workers='auto',  # 0 on CPUs, 2 on GPUs
    dataset=dict(
        type='MMBench',
        data_root=data_root,
        question_file='mmbench_dev_20230712.tsv',
        lang='en',
    ),
    sampler=dict(type='DefaultSampler', shuffle=False),
    persistent_workers=False,
)

# Writes <work_dir>/mmbench_submission.xlsx (LLaVA's upload file) and, where
# the TSV has answers, a local circular accuracy (see docs/evaluation.md).
test_evaluator = dict(type='MMBenchMetric')

# Predictions go to the work dir as they are made; resumable (--resume).
test_cfg = dict(type='ResumableTestLoop')
