# LLaVA-1.5 7B: CLIP ViT-L/14-336, MLP projector, Vicuna-7B-v1.5 (LLaMA-2).
# The LM architecture is written inline, so only the tokenizer is fetched.
image_size = 336

model = dict(
    type='Llava',
    tokenizer=dict(
        type='AutoTokenizer', name_or_path='liuhaotian/llava-v1.5-7b'),
    vision_encoder=dict(
        type='VisionTransformer',
        arch='l',
        patch_size=14,
        img_size=image_size,
        pre_norm=True,
        norm_cfg=dict(type='LN', eps=1e-5),
        layer_cfgs=dict(act_cfg=dict(type='QuickGELU')),
        final_norm=False,
        out_type='raw',
        pretrained='https://download.openmmlab.com/mmclassification/v0/clip/'
        'vit-large-p14_clip-openai-pre_336px_20231025-fb1315ed.pth',
    ),
    mm_hidden_size=1024,
    use_im_patch=False,
    use_im_start_end=False,
    mm_proj_depth=2,
    mm_vision_select_layer=-2,
    lang_encoder=dict(
        type='AutoModelForCausalLM',
        # The architecture of lmsys/vicuna-7b-v1.5.
        config=dict(
            model_type='llama',
            vocab_size=32000,
            hidden_size=4096,
            intermediate_size=11008,
            num_hidden_layers=32,
            num_attention_heads=32,
            num_key_value_heads=32,
            max_position_embeddings=4096,
            rms_norm_eps=1e-5,
            rope_theta=10000.0,
            bos_token_id=1,
            eos_token_id=2,
            tie_word_embeddings=False,
        ),
        attn_implementation='llava_mm_sdpa',  # see llava_mm/ops/cpu/attention.py
    ),
    task='caption',
    # conv_vicuna_v1 of the official LLaVA (llava_mm/conversation.py); the
    # VQA configs add question_suffix='short_answer'.
    conv_template='vicuna_v1',
    caption_prompt='Provide a one-sentence caption for the provided image.',
    generation_cfg=dict(num_beams=1, do_sample=False, max_new_tokens=64),
    data_preprocessor=dict(
        type='MultiModalDataPreprocessor',
        mean=[122.770938, 116.7460125, 104.09373615],
        std=[68.5005327, 66.6321579, 70.32316305],
        to_rgb=False,
    ),
)

# The official v1.5 pre-processing: pad to square with the CLIP mean colour,
# then CLIP's bicubic short-edge resize and centre crop.
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='PadToSquare'),
    dict(type='CLIPResizeCrop', scale=image_size),
    dict(type='PackInputs', meta_keys=['image_id', 'question_id',
                                       'question']),
]
