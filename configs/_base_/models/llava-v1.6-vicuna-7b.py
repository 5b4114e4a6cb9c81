# LLaVA-1.6 (LLaVA-NeXT) Vicuna-7B: the LLaVA-1.5 7B model reading each image
# as a base view plus the 336x336 tiles of a grid ("anyres"): up to 2,928
# image tokens instead of 576 (configs/llava/README.md).
_base_ = ['./llava-7b-v1.5.py']

image_size = 336
# The grid resolutions an image may be tiled at, [height, width].
image_grid_pinpoints = [[336, 672], [672, 336], [672, 672], [1008, 336],
                        [336, 1008]]

model = dict(
    tokenizer=dict(name_or_path='liuhaotian/llava-v1.6-vicuna-7b'),
    # LLaVA-1.6 fine-tuned the vision tower: its weights are in the
    # checkpoint (a llava-hf directory or a converted file).
    vision_encoder=dict(pretrained=None),
    image_aspect_ratio='anyres',
    image_grid_pinpoints=image_grid_pinpoints,
    mm_patch_merge_type='spatial_unpad',
)

# The official (and transformers') LLaVA-NeXT pre-processing: the base view
# and the tiles, pixel-identical (tests/test_parity_next.py). PackInputs
# keeps `image_size`, which the model needs to lay out the features.
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='AnyResTiles', image_grid_pinpoints=image_grid_pinpoints,
         tile_size=image_size),
    dict(type='PackInputs', meta_keys=['image_id', 'question_id', 'question',
                                       'image_size']),
]
