# A tiny LLaVA-1.5 (same classes and key layout as the 7B model) trained from
# scratch on the synthetic shapes data (projects/tiny_shapes/make_shapes.py): a CLIP-
# style ViT on 64x64 images (16x16 patches), an MLP projector and a small LLaMA.
# The tokenizer ships with the package; its path is found from this file's
# location, so it resolves for a source checkout, an editable install and a
# wheel (llava_mm/.mim/) alike, whatever the current directory.
_base_ = ['./llava-7b-v1.5.py']

checkpoint_dir = '{{ fileDirname }}/../../../checkpoints/llava-tiny-shapes'
image_size = 64

model = dict(
    tokenizer=dict(name_or_path=f'{checkpoint_dir}/tokenizer'),
    vision_encoder=dict(
        _delete_=True,
        type='VisionTransformer',
        arch=dict(embed_dims=96, num_layers=4, num_heads=4,
                  feedforward_channels=384),
        patch_size=16,
        img_size=image_size,
        pre_norm=True,
        norm_cfg=dict(type='LN', eps=1e-5),
        layer_cfgs=dict(act_cfg=dict(type='QuickGELU')),
        final_norm=False,
        out_type='raw',
    ),
    mm_hidden_size=96,
    lang_encoder=dict(config=dict(
        vocab_size=512,
        hidden_size=192,
        intermediate_size=512,
        num_hidden_layers=3,
        num_attention_heads=8,
        num_key_value_heads=8,
        max_position_embeddings=256)),
    generation_cfg=dict(max_new_tokens=32),
)

test_pipeline = [
    dict(type='LoadImage'),
    dict(type='PadToSquare'),
    dict(type='CLIPResizeCrop', scale=image_size),
    dict(type='PackInputs', meta_keys=['image_id', 'question_id',
                                       'question']),
]
