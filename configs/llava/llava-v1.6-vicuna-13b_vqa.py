_base_ = [
    '../_base_/models/llava-v1.6-vicuna-13b.py',
    '../_base_/datasets/coco_vqa.py',
    '../_base_/default_runtime.py',
]
model = dict(
    task='vqa',
    prompt_tmpl={{_base_.vqa_prompt_tmpl}},
    turn_tmpl={{_base_.vqa_turn_tmpl}},
    generation_cfg=dict(max_new_tokens=128))
test_dataloader = dict(dataset=dict(pipeline={{_base_.test_pipeline}}))
