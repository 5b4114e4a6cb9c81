# Synthetic shapes, training split: captions and VQA mixed in one stream
# (LLaVA-1.5 style). Make it:
#   python tools/data/make_shapes.py --out data/shapes --split train \
#       --num-images 8000 --seed 0
data_root = 'data/shapes'

load_pipeline = [
    dict(type='LoadImage'),
    dict(type='PadToSquare'),
    dict(type='CLIPResizeCrop', scale=64),
]
caption_pipeline = load_pipeline + [
    dict(type='PackInputs', algorithm_keys=['gt_caption'],
         meta_keys=['image_id']),
]
# VQA questions get LLaVA-1.5's short-answer instruction, exactly as the VQA
# prompt template (`vqa_prompt_tmpl`) puts it at inference.
vqa_pipeline = load_pipeline + [
    dict(type='AppendToQuestion'),
    dict(type='PackInputs', algorithm_keys=['gt_answer', 'gt_answer_weight'],
         meta_keys=['image_id', 'question_id', 'question']),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            dict(type='COCOCaption',
                 data_root=data_root,
                 ann_file='annotations/shapes_train.json',
                 pipeline=caption_pipeline),
            dict(type='COCOVQA',
                 data_root=data_root,
                 data_prefix='train',
                 question_file='annotations/shapes_train_questions.json',
                 ann_file='annotations/shapes_train_annotations.json',
                 pipeline=vqa_pipeline),
        ]),
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
)
