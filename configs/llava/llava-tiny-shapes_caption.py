_base_ = [
    '../_base_/models/llava-tiny-shapes.py',
    '../_base_/datasets/shapes_caption.py',
    '../_base_/default_runtime.py',
]
test_dataloader = dict(dataset=dict(pipeline={{_base_.test_pipeline}}))
