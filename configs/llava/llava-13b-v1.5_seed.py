# LLaVA-1.5 13b on SEED-Bench, as scripts/v1_5/eval/seed.sh: each question
# file entry is the whole user turn (question, lettered options, "Answer with
# the option's letter from the given choices directly."), in the plain
# vicuna_v1 template; greedy, at most 128 new tokens.
_base_ = [
    '../_base_/models/llava-13b-v1.5.py',
    '../_base_/datasets/seed_bench.py',
    '../_base_/default_runtime.py',
]
model = dict(task='vqa', generation_cfg=dict(max_new_tokens=128))
test_dataloader = dict(dataset=dict(pipeline={{_base_.test_pipeline}}))
