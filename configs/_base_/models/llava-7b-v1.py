# LLaVA v1 7B: CLIP ViT-L/14-224, linear projector, LLaMA-7B-based Vicuna,
# <im_start><image><im_end> around the image.
system_prompt = (
    'You are LLaVA, a large language and vision assistant trained by UW '
    'Madison WAIV Lab.You are able to understand the visual content that '
    'the user provides, and assist the user with a variety of tasks using '
    'natural language.Follow the instructions carefully and explain your '
    'answers in detail.')
image_size = 224
prompt_tmpl = (f'{system_prompt} USER: <im_start><image><im_end>\n'
               '{question} ASSISTANT:')
vqa_prompt_tmpl = (f'{system_prompt} USER: <im_start><image><im_end>\n'
                   '{question}\nAnswer the question using a single word '
                   'or phrase. ASSISTANT:')

model = dict(
    type='Llava',
    tokenizer=dict(
        type='AutoTokenizer',
        name_or_path='liuhaotian/LLaVA-Lightning-7B-delta-v1-1'),
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
        pretrained=(
            'https://download.openmmlab.com/mmclassification/v0/clip/'
            'vit-large-p14_clip-openai-pre_3rdparty_20230517-95e2af0b.pth'),
    ),
    mm_hidden_size=1024,
    use_im_patch=False,
    use_im_start_end=True,
    mm_proj_depth=1,
    mm_vision_select_layer=-2,
    lang_encoder=dict(
        type='AutoModelForCausalLM',
        # The architecture of LLaMA-7B (Vicuna v1.1).
        config=dict(
            model_type='llama',
            vocab_size=32000,
            hidden_size=4096,
            intermediate_size=11008,
            num_hidden_layers=32,
            num_attention_heads=32,
            num_key_value_heads=32,
            max_position_embeddings=2048,
            rms_norm_eps=1e-6,
            rope_theta=10000.0,
            bos_token_id=1,
            eos_token_id=2,
            tie_word_embeddings=False,
        ),
        attn_implementation='sdpa',
    ),
    task='caption',
    # conv_llava_v1 of the official LLaVA.
    prompt_tmpl=prompt_tmpl,
    caption_prompt='Provide a one-sentence caption for the provided image.',
    generation_cfg=dict(num_beams=1, do_sample=False, max_new_tokens=64),
    data_preprocessor=dict(
        type='MultiModalDataPreprocessor',
        mean=[122.770938, 116.7460125, 104.09373615],
        std=[68.5005327, 66.6321579, 70.32316305],
        to_rgb=False,
    ),
)

# v1 uses CLIP's processor as is: short-edge resize and centre crop.
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='CLIPResizeCrop', scale=image_size),
    dict(type='PackInputs', meta_keys=['image_id', 'question_id',
                                       'question']),
]
