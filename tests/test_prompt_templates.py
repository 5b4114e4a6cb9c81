"""Configs name their conversation template (``conv_template``, and
``question_suffix`` for VQA) instead of writing its text, and every config
resolves to the prompts it had when it wrote them out.

``data/prompt_templates.json`` holds ``[prompt_tmpl, turn_tmpl]`` per
config as read from the configs before they named templates (the text they
spelled out; a missing ``turn_tmpl`` was the model's default,
``'USER: {question} ASSISTANT:'``).
"""
import ast
import glob
import json
import os.path as osp

import pytest
from mmengine.config import Config

from llava_mm.conversation import (
    CONV_TEMPLATES,
    model_prompt_templates,
    prompt_templates,
)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
with open(osp.join(ROOT, 'tests', 'data', 'prompt_templates.json')) as f:
    BEFORE = json.load(f)
CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'llava', '*.py')))


def test_every_config_is_covered():
    assert {osp.relpath(p, ROOT) for p in CONFIGS} <= set(BEFORE)


@pytest.mark.parametrize('config', sorted(BEFORE))
def test_prompts_unchanged(config, tokenizer):
    model = Config.fromfile(osp.join(ROOT, config)).model
    assert list(model_prompt_templates(model)) == BEFORE[config]
    # Same text, so the same ids for any tokenizer; checked with the tiny
    # one on the text around {question}.
    for new, old in zip(model_prompt_templates(model), BEFORE[config]):
        assert tokenizer(new).input_ids == tokenizer(old).input_ids


def test_configs_hold_no_template_text():
    for path in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                          recursive=True):
        tree = ast.parse(open(path, encoding='utf-8').read())
        strings = [node.value for node in ast.walk(tree)
                   if isinstance(node, ast.Constant)
                   and isinstance(node.value, str)]
        names = {node.arg for node in ast.walk(tree)
                 if isinstance(node, ast.keyword)}
        assert not names & {'prompt_tmpl', 'turn_tmpl'}, path
        for piece in ('ASSISTANT:', '[INST]', 'single word or phrase'):
            assert not any(piece in text for text in strings), (path, piece)


def test_explicit_templates_win_and_names_are_checked():
    vicuna = CONV_TEMPLATES['vicuna_v1']
    assert prompt_templates('vicuna_v1', 'short_answer') == (
        vicuna.prompt_tmpl('\nAnswer the question using a single word or '
                           'phrase.'),
        vicuna.turn_tmpl('\nAnswer the question using a single word or '
                         'phrase.'))
    custom = 'Look: <image>\n{question} Reply:'
    assert prompt_templates('mistral_instruct', prompt_tmpl=custom) == (
        custom, '[INST] {question} [/INST]')
    assert prompt_templates(prompt_tmpl=custom) == (
        custom, vicuna.turn_tmpl())
    with pytest.raises(ValueError, match="conv_template='vicuna' is "
                       'unknown; use one of'):
        prompt_templates('vicuna')
    with pytest.raises(ValueError, match="question_suffix='short' is "
                       'unknown'):
        prompt_templates('vicuna_v1', 'short')
    with pytest.raises(ValueError, match='needs conv_template'):
        prompt_templates()
