"""TextOnceConfig: the same text as mmengine's Config, formatted once."""
import copy
import os.path as osp
import pickle

from mmengine.config import Config

from llava_mm.engine.config_text import TextOnceConfig

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_same_text_made_once_and_remade_after_a_change(tmp_path):
    plain = Config.fromfile(osp.join(ROOT, 'configs', 'llava',
                                     'llava-7b-v1.5_vqa.py'))
    cfg = TextOnceConfig.from_config(plain)
    text = cfg.pretty_text
    assert text == plain.pretty_text
    assert cfg.pretty_text is text  # kept, not formatted again
    # A deep copy (what the Runner keeps) keeps the class and the text.
    kept = copy.deepcopy(cfg)
    assert type(kept) is TextOnceConfig
    assert kept.pretty_text == text
    # A change of content gives the new text.
    cfg.model.generation_cfg.max_new_tokens = 77
    changed = cfg.pretty_text
    assert changed != text and 'max_new_tokens=77' in changed
    assert changed == Config(cfg.to_dict()).pretty_text
    cfg.dump(str(tmp_path / 'dumped.py'))
    assert (tmp_path / 'dumped.py').read_text() == changed
    assert Config.fromfile(str(tmp_path / 'dumped.py')).model\
        .generation_cfg.max_new_tokens == 77
    # Pickled (as for spawned workers): a config with the same content.
    again = pickle.loads(pickle.dumps(cfg))
    assert type(again) is TextOnceConfig and again.pretty_text == changed


def test_the_config_internals_it_relies_on():
    """share_state is the one use of Config internals: a config's state is
    its instance attributes. Fails if mmengine moves it elsewhere."""
    from llava_mm.engine.config_text import share_state
    plain = Config.fromfile(osp.join(ROOT, 'configs', 'llava',
                                     'llava-tiny-shapes_vqa.py'))
    assert {'_cfg_dict', '_filename', '_text'} <= set(vars(plain))
    view = TextOnceConfig.__new__(TextOnceConfig)
    share_state(view, plain)
    assert view.filename == plain.filename and view.text == plain.text
    view.model.task = 'caption'  # the content is shared, not copied
    assert plain.model.task == 'caption'
    assert '_text_once' not in view.to_dict()
    view.pretty_text
    assert '_text_once' not in view.to_dict()  # kept beside, not inside
