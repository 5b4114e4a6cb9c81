_base_ = [
    '../_base_/models/llava-v1.6-mistral-7b.py',
    '../_base_/datasets/coco_caption.py',
    '../_base_/default_runtime.py',
]
test_dataloader = dict(dataset=dict(pipeline={{_base_.test_pipeline}}))
