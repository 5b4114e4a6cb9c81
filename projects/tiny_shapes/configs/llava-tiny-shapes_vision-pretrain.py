# Stage 0 of the tiny shapes LLaVA: pretrain its vision tower from the
# captions (the real LLaVA starts from a pretrained CLIP tower instead).
#   PYTHONPATH=. python tools/train.py \
#       projects/tiny_shapes/configs/llava-tiny-shapes_vision-pretrain.py
# (PYTHONPATH=. lets mmengine import the project's model, as for any
# OpenMMLab project.)
# The next stage (llava-tiny-shapes_train.py) starts from its last checkpoint.
_base_ = [
    '../../../configs/_base_/models/llava-tiny-shapes.py',
    '../../../configs/_base_/default_runtime.py',
]
custom_imports = dict(
    imports=['projects.tiny_shapes.tiny_shapes'], allow_failed_imports=False)
max_iters = 600

colours = ['red', 'green', 'blue', 'yellow', 'purple', 'orange']
kinds = ['circle', 'square', 'triangle', 'cross']
# What each object is (colour + kind) and how big it is (size + colour).
# (Adding the colours and kinds on their own as tags was tried: VQA 66 %
# instead of 69 %.)
tags = [f'{c} {k}' for c in colours for k in kinds] + \
    [f'{s} {c}' for s in ('small', 'large') for c in colours]

model = dict(
    _delete_=True,
    type='CaptionTagPretrainer',
    vision_encoder={{_base_.model.vision_encoder}},
    mm_vision_select_layer={{_base_.model.mm_vision_select_layer}},
    tags=tags,
    data_preprocessor={{_base_.model.data_preprocessor}},
)

data_root = 'data/shapes'
train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    dataset=dict(
        type='COCOCaption',
        data_root=data_root,
        ann_file='annotations/shapes_train.json',
        pipeline=[
            dict(type='LoadImage'),
            dict(type='PadToSquare'),
            dict(type='CLIPResizeCrop', scale={{_base_.image_size}}),
            dict(type='PackInputs', algorithm_keys=['gt_caption'],
                 meta_keys=['image_id']),
        ]),
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
)

optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.01),
    clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=60),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=60, end=max_iters,
         eta_min=1e-5),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(type='SafeCheckpointHook', by_epoch=False,
                    interval=max_iters, max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0, deterministic=True)
