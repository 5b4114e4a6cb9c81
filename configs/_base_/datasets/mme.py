# MME, in the layout of LLaVA's docs/Evaluation.md:
#   playground/data/eval/MME/llava_mme.jsonl   (LLaVA's eval.zip)
#   playground/data/eval/MME/MME_Benchmark_release_version/<subtask>/...
#     (MME's release: images and <image>.txt "question<TAB>Yes|No" files)
data_root = 'playground/data/eval/MME'

test_dataloader = dict(
    batch_size='auto',  # by device: llava_mm/engine/batching.py
    num_workers='auto',  # 0 on CPUs, 2 on GPUs
    dataset=dict(
        type='MME',
        data_root=data_root,
        question_file='llava_mme.jsonl',
        data_prefix='MME_Benchmark_release_version',
    ),
    sampler=dict(type='DefaultSampler', shuffle=False),
    persistent_workers=False,
)

test_evaluator = dict(type='MMEMetric')

# Predictions go to the work dir as they are made; resumable (--resume).
test_cfg = dict(type='ResumableTestLoop')
