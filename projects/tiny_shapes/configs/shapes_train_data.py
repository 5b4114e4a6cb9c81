# Synthetic shapes, training split, as LLaVA instruction conversations (the
# official LLaVA JSON format): per image one caption conversation and one
# multi-turn conversation with all its questions (LLaVA-1.5 style, each
# question with the short-answer instruction). Make it:
#   python projects/tiny_shapes/make_shapes.py --out data/shapes --split train \
#       --num-images 8000 --seed 0
data_root = 'data/shapes'

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='PadToSquare'),
    dict(type='CLIPResizeCrop', scale=64),
    dict(type='PackInputs', algorithm_keys=['conversation'],
         meta_keys=['image_id']),
]

# The mixed conversations, and the one-turn "Is the K on the left or the
# right?" questions alone (a phase of llava-tiny-shapes_train.py).
train_mix = dict(
    type='LLaVAInstruct',
    data_root=data_root,
    ann_file='annotations/shapes_train_llava.json',
    pipeline=train_pipeline)
train_leftright = dict(
    train_mix, ann_file='annotations/shapes_train_llava_leftright.json')

train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    dataset=train_mix,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
)
