# LLaVA-1.5 7B with detailed descriptions: the caption model, another
# instruction and beam search. An example of a variant in a few lines.
_base_ = ['./llava-7b-v1.5_caption.py']
model = dict(caption_prompt='Describe the image in detail.',
             generation_cfg=dict(num_beams=3, max_new_tokens=256))
