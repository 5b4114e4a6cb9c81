# Stage 1 of the tiny shapes LLaVA, on CPU, all parts trainable, starting
# from the vision tower of stage 0 (llava-tiny-shapes_vision-pretrain.py):
#   python tools/train.py projects/tiny_shapes/configs/llava-tiny-shapes_vision-pretrain.py
#   python tools/train.py projects/tiny_shapes/configs/llava-tiny-shapes_train.py
_base_ = [
    '../../../configs/_base_/models/llava-tiny-shapes.py',
    './shapes_train_data.py',
    '../../../configs/_base_/default_runtime.py',
]
# A curriculum (PhaseSampler): the mixed caption and question conversations,
# then 100 iterations of the left/right questions alone, then the mix again.
# In the mix the model never learns left/right (it answers "right"); alone
# it does within ~75 iterations, and the mix that follows keeps it
# (docs/training.md, "Fourth round").
batch_size = 32
phases = [dict(dataset=0, iters=800), dict(dataset=1, iters=100),
          dict(dataset=0, iters=700)]
max_iters = sum(phase['iters'] for phase in phases)
train_dataloader = dict(
    batch_size=batch_size,
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[{{_base_.train_mix}}, {{_base_.train_leftright}}]),
    sampler=dict(_delete_=True, type='PhaseSampler', phases=phases,
                 batch_size=batch_size))
# Stage 0's checkpoint (the default work_dir of tools/train.py): it holds
# only model.vision_tower.*; the projector and the LM start from init.
load_from = 'work_dirs/llava-tiny-shapes_vision-pretrain/iter_600.pth'

# LLaVA-1.5's stage-2 recipe: the (stage-0) vision tower stays frozen, the
# projector and the LM learn.
model = dict(freeze_vision=True, freeze_projector=False, freeze_lm=False)

optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.98),
                   weight_decay=0.01),
    clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=100),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=100, end=max_iters,
         eta_min=1e-5),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)

default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(type='SafeCheckpointHook', by_epoch=False, interval=500,
                    max_keep_ckpts=1))
log_processor = dict(by_epoch=False)
randomness = dict(seed=0, deterministic=True)
