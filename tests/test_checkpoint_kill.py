"""A kill during a checkpoint save loses no progress (issue #17, part 2).

tools/train.py runs in a subprocess whose file backend writes half of
``iter_2.pth`` (or of ``iter_2.pth.tmp``), signals, and hangs; the test then
kills it with SIGKILL, so the process dies in the middle of the save, after
the save has started and before it has finished. ``--resume`` must then
continue from ``iter_1.pth``.
"""
import os
import os.path as osp
import signal
import subprocess
import sys
import time

from test_train_tool import (
    ROOT,
    run_train,
    tiny_config,  # noqa: F401  (fixture)
)

# Runs tools/train.py with LocalBackend.put cut short for one file name.
DRIVER = '''
import os, runpy, sys, time
from mmengine.fileio.backends import LocalBackend
target, ready = sys.argv[1:3]
put = LocalBackend.put
def put_half_and_hang(self, obj, filepath):
    if os.path.basename(str(filepath)).startswith(target):
        put(self, obj[:len(obj) // 2], filepath)
        open(ready, 'w').close()
        time.sleep(600)
    put(self, obj, filepath)
LocalBackend.put = put_half_and_hang
sys.argv = sys.argv[3:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''


def test_kill_during_save_then_resume(tiny_config, tmp_path):  # noqa: F811
    config, _ = tiny_config
    work_dir = str(tmp_path / 'work')
    ready = str(tmp_path / 'saving')
    opts = ['--cfg-options', 'train_cfg.max_iters=3',
            'default_hooks.checkpoint.interval=1',
            'default_hooks.checkpoint.max_keep_ckpts=1']
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=os.pathsep.join(
        [ROOT] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
    proc = subprocess.Popen(
        [sys.executable, '-c', DRIVER, 'iter_2.pth', ready,
         osp.join(ROOT, 'tools/train.py'), config, '--work-dir', work_dir,
         *opts], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 600
        while not osp.exists(ready):
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            assert time.time() < deadline, 'the save never started'
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read() == osp.join(work_dir, 'iter_1.pth')
    assert osp.isfile(osp.join(work_dir, 'iter_1.pth'))

    out = run_train(config, '--work-dir', work_dir, '--resume', *opts)
    log = out.stderr + out.stdout
    assert out.returncode == 0, log[-3000:]
    assert 'resumed epoch: 0, iter: 1' in log
    assert 'Iter(train) [3/3]' in log
    # max_keep_ckpts=1: the newest file only, no partial file left over.
    assert sorted(f for f in os.listdir(work_dir) if '.pth' in f) == [
        'iter_3.pth']
