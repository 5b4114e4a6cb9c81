"""The per-rank prediction files behind resumable evaluation."""
import json
import os
import os.path as osp
import subprocess
import sys
import time

import pytest

from llava_mm.engine import PredictionStore
from llava_mm.engine.predictions import checkpoint_fingerprint
from llava_mm.engine.run_lock import WorkDirLock

HEADER = dict(dataset=dict(type='COCOVQA', num_samples=5, hash='aa'),
              model=dict(type='Llava', hash='bb'),
              checkpoint=dict(path='/ckpt.pth', size=10, mtime_ns=1,
                              sampled_sha256='cc'),
              runtime=dict(dtype='bfloat16', device='cpu'),
              generation=dict(task='vqa', prompt_tmpl='USER: {question}',
                              caption_prompt=None,
                              generation_cfg=dict(max_new_tokens=8)))


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


@pytest.mark.parametrize('part, change, named', [
    ('dataset', dict(hash='cc'), "hash: file 'aa', this run 'cc'"),
    ('model', dict(hash='dd'), 'hash'),
    ('checkpoint', dict(mtime_ns=2), 'mtime_ns: file 1, this run 2'),
    ('checkpoint', dict(sampled_sha256='ee'), 'sampled_sha256'),
    ('runtime', dict(dtype='float32'),
     "dtype: file 'bfloat16', this run 'float32'"),
    ('runtime', dict(device='cuda: NVIDIA H200'), 'device'),
    ('generation', dict(prompt_tmpl='Q: {question}'), 'prompt_tmpl'),
    ('generation', dict(generation_cfg=dict(max_new_tokens=4)),
     'generation_cfg')])
def test_other_setup_is_refused(tmp_path, part, change, named):
    store = PredictionStore(str(tmp_path), 0, HEADER)
    store.open()
    store.write(_records([0]))
    store.close()
    other = {k: dict(v) for k, v in HEADER.items()}
    other[part].update(change)
    with pytest.raises(ValueError, match=f'different {part}') as e:
        PredictionStore(str(tmp_path), 0, other).load_all()
    assert named in str(e.value)
    # The checkpoint's path alone is no difference (a moved file).
    moved = {k: dict(v) for k, v in HEADER.items()}
    moved['checkpoint']['path'] = '/elsewhere/ckpt.pth'
    assert sorted(PredictionStore(str(tmp_path), 0, moved).load_all()) == [0]


def test_header_compared_as_stored(tmp_path):
    """Tuples and other non-JSON values in the settings compare equal to
    their stored form on resume."""
    header = {k: dict(v) for k, v in HEADER.items()}
    header['generation']['generation_cfg'] = dict(
        eos_token_id=(2, 3), dtype=type)
    store = PredictionStore(str(tmp_path), 0, header)
    store.open()
    store.write(_records([0]))
    store.close()
    assert sorted(PredictionStore(str(tmp_path), 0, header).load_all()) == [0]


def test_checkpoint_identity(tmp_path):
    """Other weights of the same size at the same path are another
    checkpoint; the same file moved is the same."""
    path = tmp_path / 'a.pth'
    path.write_bytes(os.urandom(3 << 20))
    first = checkpoint_fingerprint(str(path))
    assert first['size'] == 3 << 20
    moved = tmp_path / 'b.pth'
    os.rename(path, moved)
    again = checkpoint_fingerprint(str(moved))
    assert {k: v for k, v in again.items() if k != 'path'} == {
        k: v for k, v in first.items() if k != 'path'}
    # Same size, same mtime, other content in a sampled block.
    data = bytearray(moved.read_bytes())
    data[0] ^= 0xFF
    moved.write_bytes(bytes(data))
    os.utime(moved, ns=(first['mtime_ns'], first['mtime_ns']))
    changed = checkpoint_fingerprint(str(moved))
    assert changed['size'] == first['size']
    assert changed['mtime_ns'] == first['mtime_ns']
    assert changed['sampled_sha256'] != first['sampled_sha256']
    assert checkpoint_fingerprint(None)['sampled_sha256'] is None


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


def test_line_cut_inside_a_utf8_character(tmp_path):
    store = PredictionStore(str(tmp_path), 0, HEADER)
    store.open()
    store.write([dict(index=0, pred_answer='café')])
    store.close()
    path = osp.join(tmp_path, 'predictions_rank0.jsonl')
    cut = json.dumps(dict(index=1, pred_answer='naïve'),
                     ensure_ascii=False).encode()
    cut = cut[:cut.index('ï'.encode()) + 1]  # first byte of 2
    with open(path, 'ab') as f:
        f.write(cut)
    assert store.load_all() == {0: dict(index=0, pred_answer='café')}
    store.open()  # cuts the partial line before appending
    store.write([dict(index=1, pred_answer='naïve')])
    store.close()
    assert store.load_all()[1]['pred_answer'] == 'naïve'


def test_lock_refuses_a_live_run_and_takes_over_a_dead_one(tmp_path):
    lock = WorkDirLock(str(tmp_path))
    lock.acquire()
    owner = json.loads((tmp_path / 'run.lock').read_text())
    assert owner['pid'] == os.getpid()
    with pytest.raises(RuntimeError, match=f'pid {os.getpid()}') as e:
        WorkDirLock(str(tmp_path)).acquire()
    assert 'use another --work-dir' in str(e.value)
    lock.release()
    assert not (tmp_path / 'run.lock').exists()
    # The lock of a process that has exited is taken over.
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    owner.update(pid=dead.pid, started=time.strftime('%H:%M:%S'))
    (tmp_path / 'run.lock').write_text(json.dumps(owner))
    lock = WorkDirLock(str(tmp_path))
    lock.acquire()
    assert json.loads((tmp_path / 'run.lock').read_text())[
        'pid'] == os.getpid()
    lock.release()


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


def test_checkpoint_identity_of_a_llava_hf_directory(tmp_path):
    """A directory given as the checkpoint is fingerprinted by its config
    and weight files: changing one of them makes another checkpoint."""
    hf = tmp_path / 'hf'
    hf.mkdir()
    (hf / 'config.json').write_text('{"model_type": "llava_next"}')
    (hf / 'model-00001.safetensors').write_bytes(os.urandom(1 << 20))
    (hf / 'README.md').write_text('not part of the weights')
    first = checkpoint_fingerprint(str(hf))
    assert first['size'] == (1 << 20) + len('{"model_type": "llava_next"}')
    (hf / 'README.md').write_text('edited')
    assert checkpoint_fingerprint(str(hf)) == first
    (hf / 'config.json').write_text('{"model_type": "llava"}')
    changed = checkpoint_fingerprint(str(hf))
    assert changed['sampled_sha256'] != first['sampled_sha256']
