# Runtime settings shared by every llava_mm config.
default_scope = 'llava_mm'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    # mmengine's LoggerHook, test metrics written by rank 0 only.
    logger=dict(type='RankZeroLoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # writes iter_N.pth.tmp, renames, then deletes old files (kill-safe)
    checkpoint=dict(type='SafeCheckpointHook', interval=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
# mmpretrain's UniversalVisualizer plus captions/answers with ground truth
# (tools/test.py --show-dir).
visualizer = dict(type='LlavaVisualizer', vis_backends=vis_backends)

log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=None, deterministic=False)
