# TextVQA val, in the layout of LLaVA's docs/Evaluation.md:
#   playground/data/eval/textvqa/llava_textvqa_val_v051_ocr.jsonl (eval.zip)
#   playground/data/eval/textvqa/TextVQA_0.5.1_val.json
#   playground/data/eval/textvqa/train_images/<image_id>.jpg
data_root = 'playground/data/eval/textvqa'

test_dataloader = dict(
    batch_size='auto',  # by device: llava_mm/engine/batching.py
    num_workers='auto',  # 0 on CPUs, 2 on GPUs
    dataset=dict(
        type='TextVQA',
        data_root=data_root,
        question_file='llava_textvqa_val_v051_ocr.jsonl',
        ann_file='TextVQA_0.5.1_val.json',
        data_prefix='train_images',
    ),
    sampler=dict(type='DefaultSampler', shuffle=False),
    persistent_workers=False,
)

test_evaluator = dict(type='TextVQAAcc')

# Predictions go to the work dir as they are made; resumable (--resume).
test_cfg = dict(type='ResumableTestLoop')
