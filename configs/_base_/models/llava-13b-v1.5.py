# LLaVA-1.5 13B: the 7B recipe with the Vicuna-13B-v1.5 architecture.
_base_ = ['./llava-7b-v1.5.py']

model = dict(
    tokenizer=dict(name_or_path='liuhaotian/llava-v1.5-13b'),
    lang_encoder=dict(config=dict(
        hidden_size=5120,
        intermediate_size=13824,
        num_hidden_layers=40,
        num_attention_heads=40,
        num_key_value_heads=40)))
