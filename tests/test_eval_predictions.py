"""The per-rank prediction files behind resumable evaluation."""
import json
import os.path as osp

import pytest

from llava_mm.engine import PredictionStore

HEADER = dict(dataset=dict(type='COCOVQA', num_samples=5, hash='aa'),
              model=dict(type='Llava', hash='bb'),
              checkpoint=dict(path='/ckpt.pth', size=10))


def _records(indices):
    return [dict(index=i, question_id=100 + i, pred_answer=f'a{i}')
            for i in indices]


def test_round_trip_over_ranks(tmp_path):
    for rank, indices in ((0, [0, 2, 4]), (1, [1, 3])):
        store = PredictionStore(str(tmp_path), rank, HEADER)
        store.open()
        store.write(_records(indices))
        store.close()
    loaded = PredictionStore(str(tmp_path), 0, HEADER).load_all()
    assert sorted(loaded) == [0, 1, 2, 3, 4]
    assert loaded[3] == _records([3])[0]
    # Appending on resume keeps the header single and the records.
    store = PredictionStore(str(tmp_path), 1, HEADER)
    store.open()
    store.write(_records([5]))
    store.close()
    lines = (tmp_path / 'predictions_rank1.jsonl').read_text().splitlines()
    assert ['header' in json.loads(x) for x in lines] == [True] + [False] * 3
    assert PredictionStore(str(tmp_path), 0, HEADER).remove_all() == 2
    assert PredictionStore(str(tmp_path), 0, HEADER).load_all() == {}


@pytest.mark.parametrize('part, change', [
    ('dataset', dict(hash='cc')), ('model', dict(hash='dd')),
    ('checkpoint', dict(path='/other.pth'))])
def test_other_setup_is_refused(tmp_path, part, change):
    store = PredictionStore(str(tmp_path), 0, HEADER)
    store.open()
    store.write(_records([0]))
    store.close()
    other = {k: dict(v) for k, v in HEADER.items()}
    other[part].update(change)
    with pytest.raises(ValueError, match=f'different {part}'):
        PredictionStore(str(tmp_path), 0, other).load_all()


def test_interrupted_write_is_dropped_and_repaired(tmp_path):
    store = PredictionStore(str(tmp_path), 0, HEADER)
    store.open()
    store.write(_records([0, 1]))
    store.close()
    path = osp.join(tmp_path, 'predictions_rank0.jsonl')
    with open(path, 'a') as f:
        f.write('{"index": 2, "pred_ans')  # killed mid-line
    assert sorted(store.load_all()) == [0, 1]
    store.open()  # cuts the partial line before appending
    store.write(_records([2]))
    store.close()
    assert sorted(store.load_all()) == [0, 1, 2]


def test_corrupt_files_are_errors(tmp_path):
    path = tmp_path / 'predictions_rank0.jsonl'
    store = PredictionStore(str(tmp_path), 0, HEADER)
    store.open()
    store.write(_records([0]))
    store.close()
    with open(path, 'a') as f:
        f.write('not json\n{"index": 1}\n')
    with pytest.raises(ValueError, match='line 3: not valid JSON'):
        store.load_all()
    path.write_text('{"index": 0}\n')
    with pytest.raises(ValueError, match='not a llava_mm prediction file'):
        store.load_all()
