# LLaVA-1.5 7b on MMBench dev, as scripts/v1_5/eval/mmbench.sh
# (model_vqa_mmbench.py --single-pred-prompt): hint, question, lettered
# options and "Answer with the option's letter from the given choices
# directly.", in the plain vicuna_v1 template; greedy, at most 1024 new
# tokens. Upload <work_dir>/mmbench_submission.xlsx for the official score.
_base_ = [
    '../_base_/models/llava-7b-v1.5.py',
    '../_base_/datasets/mmbench.py',
    '../_base_/default_runtime.py',
]
model = dict(task='vqa', generation_cfg=dict(max_new_tokens=1024))
test_dataloader = dict(dataset=dict(pipeline={{_base_.test_pipeline}}))
