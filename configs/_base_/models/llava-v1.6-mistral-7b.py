# LLaVA-1.6 Mistral-7B: the anyres recipe with Mistral-7B-Instruct-v0.2 as
# the language model and its [INST] prompt (the official `mistral_instruct`
# conversation, llava_mm.conversation.MISTRAL_INSTRUCT).
_base_ = ['./llava-v1.6-vicuna-7b.py']

model = dict(
    tokenizer=dict(name_or_path='liuhaotian/llava-v1.6-mistral-7b'),
    lang_encoder=dict(config=dict(
        _delete_=True,
        # The architecture of mistralai/Mistral-7B-Instruct-v0.2.
        model_type='mistral',
        vocab_size=32000,
        hidden_size=4096,
        intermediate_size=14336,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        max_position_embeddings=32768,
        rms_norm_eps=1e-5,
        rope_theta=1000000.0,
        sliding_window=None,
        bos_token_id=1,
        eos_token_id=2,
        tie_word_embeddings=False)),
    conv_template='mistral_instruct',
)
