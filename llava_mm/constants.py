"""Tokens, prompts and checkpoint key prefixes: one home for each.

The names follow the official LLaVA (``llava/constants.py``) where it has
them. Conversation templates built from these live in
:mod:`llava_mm.conversation`.
"""

# The placeholder the prompt template uses for the image, and the id it
# stands for in the token sequence before the image features are spliced in.
IMAGE_TOKEN = '<image>'
IMAGE_TOKEN_INDEX = -200
# LLaVA v1's image delimiters (``use_im_start_end=True``).
IM_START_TOKEN = '<im_start>'
IM_END_TOKEN = '<im_end>'
# Label value that carries no loss (prompt, image positions, padding).
IGNORE_INDEX = -100

# The system prompt of LLaVA-1.5's ``vicuna_v1`` conversation.
V15_SYSTEM = ('A chat between a curious human and an artificial intelligence '
              'assistant. The assistant gives helpful, detailed, and polite '
              "answers to the human's questions.")
# The system prompt of LLaVA v1's ``llava_v1`` conversation (the official
# string has no space after "Lab." and "language.").
V1_SYSTEM = ('You are LLaVA, a large language and vision assistant trained '
             'by UW Madison WAIV Lab.You are able to understand the visual '
             'content that the user provides, and assist the user with a '
             'variety of tasks using natural language.Follow the '
             'instructions carefully and explain your answers in detail.')
# The short-caption instruction of LLaVA-1.5's training data (and lmms-eval's
# COCO caption task).
CAPTION_PROMPT = 'Provide a one-sentence caption for the provided image.'
# What LLaVA-1.5's VQA prompt puts after the question.
VQA_SHORT_ANSWER_SUFFIX = (
    '\nAnswer the question using a single word or phrase.')

# Where the parts of LLaVA sit in an OpenMMLab checkpoint.
LM_PREFIX = 'model.lang_encoder.'
VISION_PREFIX = 'model.vision_tower.'
PROJECTOR_PREFIX = 'model.lang_encoder.model.mm_projector.'
# What LLaVA-1.5's multiple-choice prompts (ScienceQA, MMBench, SEED-Bench)
# put after the lettered options.
MC_INSTRUCTION = ("Answer with the option's letter from the given choices "
                  'directly.')
# The option letters of LLaVA's ScienceQA evaluation (eval_science_qa.py).
SQA_OPTIONS = ('A', 'B', 'C', 'D', 'E')
