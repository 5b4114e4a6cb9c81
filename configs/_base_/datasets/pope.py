# POPE, in the layout of LLaVA's docs/Evaluation.md:
#   playground/data/eval/pope/llava_pope_test.jsonl   (LLaVA's eval.zip)
#   playground/data/eval/pope/coco/coco_pope_{adversarial,popular,random}.json
#   playground/data/eval/pope/val2014/COCO_val2014_*.jpg
data_root = 'playground/data/eval/pope'

test_dataloader = dict(
    batch_size='auto',  # by device: llava_mm/engine/batching.py
    num_workers='auto',  # 0 on CPUs, 2 on GPUs
    dataset=dict(
        type='POPE',
        data_root=data_root,
        question_file='llava_pope_test.jsonl',
        label_dir='coco',
        data_prefix='val2014',
    ),
    sampler=dict(type='DefaultSampler', shuffle=False),
    persistent_workers=False,
)

test_evaluator = dict(type='POPEMetric')

# Predictions go to the work dir as they are made; resumable (--resume).
test_cfg = dict(type='ResumableTestLoop')
