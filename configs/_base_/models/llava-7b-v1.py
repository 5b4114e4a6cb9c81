# LLaVA v1 7B: the v1.5 recipe with CLIP ViT-L/14 at 224, a linear projector,
# a LLaMA-7B-based Vicuna, <im_start><image><im_end> around the image and
# CLIP's plain resize/centre-crop (no padding to square).
_base_ = ['./llava-7b-v1.5.py']

image_size = 224

model = dict(
    tokenizer=dict(name_or_path='liuhaotian/LLaVA-Lightning-7B-delta-v1-1'),
    vision_encoder=dict(
        img_size=image_size,
        pretrained=(
            'https://download.openmmlab.com/mmclassification/v0/clip/'
            'vit-large-p14_clip-openai-pre_3rdparty_20230517-95e2af0b.pth')),
    use_im_start_end=True,
    mm_proj_depth=1,
    # LLaMA-7B (Vicuna v1.1) differs from Vicuna-7B-v1.5 here:
    lang_encoder=dict(
        config=dict(max_position_embeddings=2048, rms_norm_eps=1e-6)),
    # conv_llava_v1 of the official LLaVA: its own system prompt, the image
    # between <im_start> and <im_end>.
    conv_template='llava_v1',
)

test_pipeline = [
    dict(type='LoadImage'),
    dict(type='CLIPResizeCrop', scale=image_size),
    dict(type='PackInputs', meta_keys=['image_id', 'question_id',
                                       'question']),
]
