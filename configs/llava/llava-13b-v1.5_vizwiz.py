# LLaVA-1.5 13b on VizWiz-VQA test, as scripts/v1_5/eval/vizwiz.sh: each
# question file entry is the whole user turn (question, "When the provided
# information is insufficient, respond with 'Unanswerable'." and the
# short-answer instruction), in the plain vicuna_v1 template; greedy, at most
# 128 new tokens. Upload <work_dir>/vizwiz_submission.json to EvalAI.
_base_ = [
    '../_base_/models/llava-13b-v1.5.py',
    '../_base_/datasets/vizwiz.py',
    '../_base_/default_runtime.py',
]
model = dict(task='vqa', generation_cfg=dict(max_new_tokens=128))
test_dataloader = dict(dataset=dict(pipeline={{_base_.test_pipeline}}))
