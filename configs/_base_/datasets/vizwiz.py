# VizWiz-VQA test (answers are secret: writes the EvalAI submission file), in
# the layout of LLaVA's docs/Evaluation.md:
#   playground/data/eval/vizwiz/llava_test.jsonl   (LLaVA's eval.zip)
#   playground/data/eval/vizwiz/test/VizWiz_test_*.jpg
data_root = 'playground/data/eval/vizwiz'

test_dataloader = dict(
    batch_size='auto',  # by device: llava_mm/engine/batching.py
    num_workers='auto',  # 0 on CPUs, 2 on GPUs
    dataset=dict(
        type='LLaVAEvalQuestions',
        data_root=data_root,
        question_file='llava_test.jsonl',
        data_prefix='test',
    ),
    sampler=dict(type='DefaultSampler', shuffle=False),
    persistent_workers=False,
)

# Writes <work_dir>/vizwiz_submission.json.
test_evaluator = dict(type='ReportVizWiz')

# Predictions go to the work dir as they are made; resumable (--resume).
test_cfg = dict(type='ResumableTestLoop')
