"""Shared fixtures: a tiny tokenizer and tiny LLaVA models, made offline."""
import os

import pytest

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')


@pytest.fixture(scope='session')
def tokenizer_dir(tmp_path_factory):
    from tiny import train_tokenizer
    return train_tokenizer(str(tmp_path_factory.mktemp('tok')))


@pytest.fixture(scope='session')
def tokenizer(tokenizer_dir):
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(tokenizer_dir)
