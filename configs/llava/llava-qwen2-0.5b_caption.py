# A LLaVA-1.5 variant whose language model is Qwen2-0.5B instead of Vicuna:
# the same vision tower, projector and prompt, another `lang_encoder`.
# There are no released weights for it: train it (docs/training.md) or pass
# your own checkpoint. Any `AutoModelForCausalLM` architecture works the
# same way (LLaMA keeps the prompt-pass shortcut of llava_mm/generation).
_base_ = ['./llava-7b-v1.5_caption.py']

model = dict(
    tokenizer=dict(name_or_path='Qwen/Qwen2-0.5B-Instruct'),
    lang_encoder=dict(
        _delete_=True,
        type='AutoModelForCausalLM',
        # The architecture of Qwen/Qwen2-0.5B-Instruct.
        config=dict(
            model_type='qwen2', vocab_size=151936, hidden_size=896,
            intermediate_size=4864, num_hidden_layers=24,
            num_attention_heads=14, num_key_value_heads=2,
            max_position_embeddings=32768, rms_norm_eps=1e-6,
            rope_theta=1000000.0, bos_token_id=151643,
            eos_token_id=151645, tie_word_embeddings=True)),
)
