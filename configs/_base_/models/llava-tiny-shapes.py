# A tiny LLaVA-1.5 (same classes and key layout as the 7B model) trained from
# scratch on the synthetic shapes data (tools/data/make_shapes.py): a CLIP-
# style ViT on 64x64 images (16x16 patches), an MLP projector and a small LLaMA.
# The tokenizer ships with the package; its path is found from this file's
# location, so it resolves for a source checkout, an editable install and a
# wheel (llava_mm/.mim/) alike, whatever the current directory.
checkpoint_dir = '{{ fileDirname }}/../../../checkpoints/llava-tiny-shapes'
system_prompt = (
    'A chat between a curious human and an artificial intelligence '
    'assistant. The assistant gives helpful, detailed, and polite answers '
    "to the human's questions.")
image_size = 64
prompt_tmpl = f'{system_prompt} USER: <image>\n{{question}} ASSISTANT:'
vqa_prompt_tmpl = (f'{system_prompt} USER: <image>\n{{question}}\n'
                   'Answer the question using a single word or phrase. '
                   'ASSISTANT:')

model = dict(
    type='Llava',
    tokenizer=dict(
        type='AutoTokenizer', name_or_path=f'{checkpoint_dir}/tokenizer'),
    vision_encoder=dict(
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
    mm_proj_depth=2,
    mm_vision_select_layer=-2,
    lang_encoder=dict(
        type='AutoModelForCausalLM',
        config=dict(
            model_type='llama',
            vocab_size=512,
            hidden_size=192,
            intermediate_size=512,
            num_hidden_layers=3,
            num_attention_heads=4,
            num_key_value_heads=4,
            max_position_embeddings=256,
            rms_norm_eps=1e-5,
            rope_theta=10000.0,
            bos_token_id=1,
            eos_token_id=2,
            tie_word_embeddings=False,
        ),
        attn_implementation='sdpa',
    ),
    task='caption',
    prompt_tmpl=prompt_tmpl,
    caption_prompt='Provide a one-sentence caption for the provided image.',
    generation_cfg=dict(num_beams=1, do_sample=False, max_new_tokens=32),
    data_preprocessor=dict(
        type='MultiModalDataPreprocessor',
        mean=[122.770938, 116.7460125, 104.09373615],
        std=[68.5005327, 66.6321579, 70.32316305],
        to_rgb=False,
    ),
)

test_pipeline = [
    dict(type='LoadImage'),
    dict(type='PadToSquare'),
    dict(type='CLIPResizeCrop', scale=image_size),
    dict(type='PackInputs', meta_keys=['image_id', 'question_id',
                                       'question']),
]
