"""What the tools make of what a user types (issue #24, items 5 and 7):
``--cfg-options`` strings keep their spaces, refusals are one line without
a traceback, and tools/test.py names the sample whose question cannot be
run and refuses an ``--out`` that is one of its inputs."""
import json
import os.path as osp

import pytest

from eval_helpers import make_vqa_eval, run_test_main
from llava_mm.models.sequence import ContextLengthError
from llava_mm.utils.cfg_options import parse_cfg_value
from llava_mm.utils.generation_args import check_generation_cfg
from llava_mm.utils.user_errors import run_tool
from test_output_paths import load_tool

CAPTION = 'Provide a one-sentence caption for the provided image.'
TMPL = 'USER: <image>\n{question} Answer in one word. ASSISTANT:'


@pytest.fixture(scope='module')
def vqa(tmp_path_factory, tokenizer_dir):
    """A 7-question VQAv2 set, a tiny VQA checkpoint and its config."""
    return make_vqa_eval(str(tmp_path_factory.mktemp('vqa_inputs')),
                         tokenizer_dir)


def test_cfg_option_values():
    """mmengine's parsing, except that a string keeps its spaces."""
    assert parse_cfg_value(CAPTION) == CAPTION  # the shell took the quotes
    assert parse_cfg_value(TMPL) == TMPL
    assert parse_cfg_value('"a, b"') == 'a, b'  # quotes that reached us
    assert parse_cfg_value("['a b', 'c']") == ['a b', 'c']
    assert parse_cfg_value('[1, 2]') == [1, 2]
    assert parse_cfg_value('a,b') == ['a', 'b']
    assert parse_cfg_value('(1,2)') == (1, 2)
    assert parse_cfg_value('7') == 7 and parse_cfg_value('0.5') == 0.5
    assert parse_cfg_value('False') is False
    assert parse_cfg_value('None') is None


def test_cfg_options_in_both_tools(vqa, tmp_path, capsys):
    """The parsers and config merging of tools/train.py and tools/test.py,
    with the arguments as the shell passes them."""
    test_tool, train_tool = load_tool('test'), load_tool('train')
    args = test_tool.parse_args([
        vqa['config'], vqa['ckpt'], '--cfg-options',
        f'model.caption_prompt={CAPTION}', f'model.prompt_tmpl={TMPL}',
        'test_dataloader.batch_size=3'])
    cfg = test_tool.setup_cfg(args)
    assert cfg.model.caption_prompt == CAPTION
    assert cfg.model.prompt_tmpl == TMPL
    assert cfg.test_dataloader.batch_size == 3
    train_config = osp.join(
        osp.dirname(osp.dirname(osp.abspath(__file__))),
        'projects/tiny_shapes/configs/llava-tiny-shapes_train.py')
    args = train_tool.parse_args([
        train_config, '--cfg-options', f'model.caption_prompt={CAPTION}',
        'load_from=None', 'optim_wrapper.optimizer.betas=(0.8, 0.9)'])
    cfg = train_tool.merge_args(train_tool.Config.fromfile(train_config),
                                args)
    assert cfg.model.caption_prompt == CAPTION
    assert tuple(cfg.optim_wrapper.optimizer.betas) == (0.8, 0.9)
    with pytest.raises(SystemExit):
        train_tool.parse_args([train_config, '--cfg-options', 'max_iters'])
    assert "--cfg-options 'max_iters': give KEY=VALUE" in \
        capsys.readouterr().err


def test_cfg_options_prompt_reaches_the_model(vqa, tmp_path):
    """A real run: the prompt template the predictions were made with is
    the one typed, spaces and all."""
    work = str(tmp_path / 'work')
    run_test_main(vqa['config'], vqa['ckpt'], work, cfg_options=[
        f'model.prompt_tmpl={TMPL}', 'test_cfg.max_batches=1'])
    with open(osp.join(work, 'predictions_rank0.jsonl')) as f:
        header = json.loads(f.readline())['header']
    assert header['generation']['prompt_tmpl'] == TMPL


def test_run_tool_prints_refusals_on_one_line(capsys, monkeypatch):
    assert run_tool(lambda: check_generation_cfg({'num_beams': 0})) == 1
    err = capsys.readouterr().err
    assert err == ('error: num_beams=0: use an integer of 1 or more (1 is '
                   'greedy decoding).\n')
    # A fault outside llava_mm keeps its traceback.
    with pytest.raises(ValueError, match='invalid literal'):
        run_tool(lambda: int('x'))
    monkeypatch.setenv('LLAVA_MM_TRACEBACK', '1')
    with pytest.raises(ValueError, match='num_beams=0'):
        run_tool(lambda: check_generation_cfg({'num_beams': 0}))
    assert run_tool(lambda: None) == 0


def test_test_tool_out_must_not_be_an_input(vqa, tmp_path):
    """``--out`` naming the ground truth (a .json like the predictions) or
    a path under a file is refused before the model is loaded."""
    before = open(vqa['ann_file'], 'rb').read()
    for out, error, match in [
            (vqa['ann_file'], ValueError, 'would overwrite the input'),
            (osp.join(vqa['ann_file'], 'p.json'), NotADirectoryError,
             'is a file, not a folder')]:
        with pytest.raises(error, match=match):
            run_test_main(vqa['config'], str(tmp_path / 'unread.pth'),
                          str(tmp_path / 'work'), '--out', out)
    assert open(vqa['ann_file'], 'rb').read() == before


def _questions(vqa, tmp_path, index, text):
    """A copy of the questions file with question ``index`` replaced."""
    with open(vqa['question_file']) as f:
        questions = json.load(f)
    questions['questions'][index]['question'] = text
    path = tmp_path / f'questions_{index}.json'
    path.write_text(json.dumps(questions))
    return f'test_dataloader.dataset.question_file={path}'


def test_test_tool_names_the_question(vqa, tmp_path):
    """A question over the context and a too large max_new_tokens: each
    error names the sample, its ids and its question. A lone surrogate (a
    ``\\ud800`` escape in the JSON file) is refused when the file is read,
    naming the question and the position (it crashed in the dataset's
    fingerprint before)."""
    work = str(tmp_path / 'work')
    long = _questions(vqa, tmp_path, 2, 'shape ' * 1000)
    with pytest.raises(ContextLengthError, match=(
            r"^sample 2 \(image_id=2, question_id=2000\), question 'shape "
            r"shape .*\.\.\.': A prompt takes \d+ positions")):
        run_test_main(vqa['config'], vqa['ckpt'], work, cfg_options=[long])
    bad = _questions(vqa, tmp_path, 5, 'How many \ud800 objects?')
    with pytest.raises(ValueError, match=(
            r"The question of .*questions_5.json: questions\[5\] "
            r"\(question_id 4001\) is not valid text: it holds a lone "
            r"surrogate at character 9 \(U\+D800")):
        run_test_main(vqa['config'], vqa['ckpt'], work, cfg_options=[bad])
    with pytest.raises(ValueError, match=(
            r"^While predicting sample 0 \(image_id=1, question_id=1000\), "
            r"question 'What colour .*; sample 1 .*max_new_tokens=600")):
        run_test_main(vqa['config'], vqa['ckpt'], work, cfg_options=[
            'model.generation_cfg.max_new_tokens=600'])


def test_tool_arguments_checked_up_front(vqa, tmp_path, capsys):
    """Values that failed later inside os/torch/mmengine with a traceback
    (a file as --work-dir or --show-dir, a batch size of 0, max_iters=0),
    and ``--resume`` in a work dir without checkpoints, which mmengine
    turns silently into a new run."""
    test_tool, train_tool = load_tool('test'), load_tool('train')
    afile = tmp_path / 'afile'
    afile.write_text('')

    def test_cfg(*argv):
        return test_tool.setup_cfg(test_tool.parse_args(
            [vqa['config'], vqa['ckpt'], *argv]))

    with pytest.raises(NotADirectoryError, match=f'--work-dir {afile} is a '
                       'file: name a folder'):
        test_cfg('--work-dir', str(afile))
    with pytest.raises(NotADirectoryError, match=f'--show-dir {afile} is a '
                       'file: name a folder'):
        test_cfg('--show-dir', str(afile))
    with pytest.raises(ValueError, match=r'test_dataloader.batch_size=0: use '
                       'a positive integer'):
        test_cfg('--cfg-options', 'test_dataloader.batch_size=0')

    train_config = osp.join(
        osp.dirname(osp.dirname(osp.abspath(__file__))),
        'projects/tiny_shapes/configs/llava-tiny-shapes_train.py')

    def train_cfg(*argv, options=()):
        args = train_tool.parse_args([train_config, *argv, '--cfg-options',
                                      'load_from=None', *options])
        return train_tool.merge_args(train_tool.Config.fromfile(
            train_config), args)

    with pytest.raises(NotADirectoryError, match='--work-dir .*afile is a '
                       'file'):
        train_cfg('--work-dir', str(afile))
    with pytest.raises(ValueError, match=r'train_cfg.max_iters=0: use a '
                       'positive integer'):
        train_cfg(options=['train_cfg.max_iters=0'])
    with pytest.raises(ValueError, match=r'train_dataloader.batch_size=0'):
        train_cfg(options=['train_dataloader.batch_size=0',
                           'train_dataloader.sampler.batch_size=0'])
    capsys.readouterr()
    cfg = train_cfg('--work-dir', str(tmp_path / 'empty'), '--resume')
    assert cfg.resume is True
    assert capsys.readouterr().err == (
        f'--resume: {tmp_path}/empty has no checkpoint to resume (no '
        'last_checkpoint file): starting a new run at iteration 0.\n')
