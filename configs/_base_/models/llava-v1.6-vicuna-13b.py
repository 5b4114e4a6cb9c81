# LLaVA-1.6 Vicuna-13B: the 7B recipe with the Vicuna-13B-v1.5 architecture.
_base_ = ['./llava-v1.6-vicuna-7b.py']

model = dict(
    tokenizer=dict(name_or_path='liuhaotian/llava-v1.6-vicuna-13b'),
    lang_encoder=dict(config=dict(
        hidden_size=5120,
        intermediate_size=13824,
        num_hidden_layers=40,
        num_attention_heads=40,
        num_key_value_heads=40)))
