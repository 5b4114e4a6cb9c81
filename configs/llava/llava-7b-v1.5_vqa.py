_base_ = [
    '../_base_/models/llava-7b-v1.5.py',
    '../_base_/datasets/coco_vqa.py',
    '../_base_/default_runtime.py',
]
model = dict(
    task='vqa',
    question_suffix='short_answer',
    generation_cfg=dict(max_new_tokens=128))
test_dataloader = dict(dataset=dict(pipeline={{_base_.test_pipeline}}))
