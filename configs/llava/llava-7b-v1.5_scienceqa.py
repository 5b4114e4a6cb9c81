# LLaVA-1.5 7b on ScienceQA-IMG, as scripts/v1_5/eval/sqa.sh
# (model_vqa_science.py --single-pred-prompt): the question with its lettered
# options and "Answer with the option's letter from the given choices
# directly.", in the plain vicuna_v1 template; greedy, at most 1024 new tokens.
_base_ = [
    '../_base_/models/llava-7b-v1.5.py',
    '../_base_/datasets/scienceqa.py',
    '../_base_/default_runtime.py',
]
model = dict(task='vqa', generation_cfg=dict(max_new_tokens=1024))
test_dataloader = dict(dataset=dict(pipeline={{_base_.test_pipeline}}))
