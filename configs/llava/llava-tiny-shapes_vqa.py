_base_ = [
    '../_base_/models/llava-tiny-shapes.py',
    '../_base_/datasets/shapes_vqa.py',
    '../_base_/default_runtime.py',
]
model = dict(
    task='vqa',
    question_suffix='short_answer',
    generation_cfg=dict(max_new_tokens=8))
test_dataloader = dict(dataset=dict(pipeline={{_base_.test_pipeline}}))
