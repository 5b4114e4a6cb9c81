# SEED-Bench (image questions and the middle frame of each video question), in
# the layout of LLaVA's docs/Evaluation.md:
#   playground/data/eval/seed_bench/llava-seed-bench.jsonl   (LLaVA's eval.zip)
#   playground/data/eval/seed_bench/SEED-Bench.json          (SEED's release)
#   playground/data/eval/seed_bench/SEED-Bench-image/*.jpg
#   playground/data/eval/seed_bench/SEED-Bench-video-image/*  (middle frames,
#     LLaVA's extract_video_frames.py)
data_root = 'playground/data/eval/seed_bench'

test_dataloader = dict(
    batch_size='auto',  # by device: llava_mm/engine/batching.py
    num_workers='auto',  # 0 on CPUs, 2 on GPUs
    dataset=dict(
        type='SEEDBench',
        data_root=data_root,
        question_file='llava-seed-bench.jsonl',
        ann_file='SEED-Bench.json',
        data_prefix='',
    ),
    sampler=dict(type='DefaultSampler', shuffle=False),
    persistent_workers=False,
)

# Also writes <work_dir>/seed_bench_upload.jsonl for the leaderboard.
test_evaluator = dict(type='SEEDAcc')

# Predictions go to the work dir as they are made; resumable (--resume).
test_cfg = dict(type='ResumableTestLoop')
