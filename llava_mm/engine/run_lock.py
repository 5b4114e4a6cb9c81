"""One run per work dir: a lock file that knows its process.

Two test runs on one work dir would delete and append to the same
prediction files; two training runs would write and delete each other's
checkpoints and ``last_checkpoint``. The first run (``tools/test.py`` or
``tools/train.py``) creates ``<work_dir>/run.lock`` holding its kind, host
name and process id; a second run refuses while that process lives.
A lock left by a process that no longer exists (killed, crashed) on this
host is taken over. (Two runs that both find the same dead lock at the
same instant could both take it over; the lock guards against the usual
case of a second run started while the first one works.)
"""
import json
import os
import os.path as osp
import socket
import time
from typing import Optional

LOCK_NAME = 'run.lock'


class RunLockedError(RuntimeError):
    """Another live run holds the work dir."""


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host.

    Args:
        pid (int): A process id.

    Returns:
        bool: False when no such process exists.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


class WorkDirLock:
    """The lock of a work dir, held by this process while it runs.

    Args:
        work_dir (str): The work dir of the run.
        run (str): What holds it, for the other run's error: ``'test
            run'`` or ``'training run'``.
    """

    def __init__(self, work_dir: str, run: str = 'test run') -> None:
        self.path = osp.join(work_dir, LOCK_NAME)
        self.run = run
        self.held = False

    def _owner(self) -> Optional[dict]:
        """The lock file's content; None when it is absent or unreadable
        (a run killed while writing it)."""
        try:
            with open(self.path, encoding='utf-8') as f:
                owner = json.load(f)
        except FileNotFoundError:
            return None
        except (ValueError, UnicodeDecodeError):
            return {}
        return owner if isinstance(owner, dict) else {}

    def acquire(self) -> None:
        """Create the lock file, or take over a dead process's.

        Raises:
            RunLockedError: Another live run holds the lock (or one on
                another host, which cannot be checked from here).
        """
        os.makedirs(osp.dirname(self.path) or '.', exist_ok=True)
        me = dict(run=self.run, host=socket.gethostname(), pid=os.getpid(),
                  started=time.strftime('%Y-%m-%d %H:%M:%S'))
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                self._check_stale()
                continue
            with os.fdopen(fd, 'w', encoding='utf-8') as f:
                json.dump(me, f)
            self.held = True
            return
        raise RunLockedError(f'Could not create {self.path}: other runs keep '
                             'taking it. Use another --work-dir.')

    def _check_stale(self) -> None:
        """Remove the lock if its process is gone; refuse otherwise."""
        owner = self._owner()
        if owner is None:  # released meanwhile
            return
        pid, host = owner.get('pid'), owner.get('host')
        if not isinstance(pid, int):
            # Unreadable: its writer died between creating and writing it.
            os.remove(self.path)
            return
        if host == socket.gethostname() and not process_alive(pid):
            os.remove(self.path)
            return
        where = 'this host' if host == socket.gethostname() else (
            f'host {host}, which cannot be checked from here')
        raise RunLockedError(
            f'Another {owner.get("run", "run")} (pid {pid} on {where}, '
            f'started {owner.get("started")}) is using the work dir '
            f'{osp.dirname(self.path)}. Wait for it to finish or use '
            f'another --work-dir. If that run is dead, delete {self.path}.')

    def __enter__(self) -> 'WorkDirLock':
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def release(self) -> None:
        """Delete the lock file if this process holds it."""
        if self.held:
            owner = self._owner()
            if owner and owner.get('pid') == os.getpid():
                os.remove(self.path)
            self.held = False
