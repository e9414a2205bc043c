"""Watch leases for a SQLite state: POSIX record locks on a side file, not rows in the database.

With SQLite every process runs on one host (the database is a local file), so "is another process
checking this watch right now?" is a question for the operating system: each watch is one byte of
`<database>.leases`, locked with `fcntl.lockf` while a process checks it. This is better than a lease
row in the database in three ways:
- taking and handing back a lease never waits for the database, so while another process holds the
  SQLite write lock (a backup, a long transaction) checks still fetch, and only their writes wait;
- a process that dies, even by SIGKILL, lets go of its leases at that instant (the kernel drops its
  locks): no stale lease to wait out;
- it costs two system calls, not two write transactions, per check.
PostgreSQL replicas on several hosts keep their lease rows (`monitor/store/replicas.py`).

POSIX record locks belong to a process, not to a thread or a file descriptor, and are all dropped when
the process closes *any* descriptor of the file; so there is one descriptor per file per process, kept
open, and a set of the watches this process holds (a second holder inside the same process is refused
here, since the kernel would grant it).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import threading
from pathlib import Path

_FILES: dict[Path, LeaseFile] = {}
_FILES_LOCK = threading.Lock()


def _offset(watch_id: str) -> int:
    # 48 bits of a hash: two watch ids sharing a byte (and so a lease) is practically impossible
    return int.from_bytes(hashlib.blake2b(watch_id.encode(), digest_size=6).digest(), "big")


class LeaseFile:
    def __init__(self, path: Path):
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._held: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def for_database(cls, database: Path) -> LeaseFile:
        path = database.with_name(database.name + ".leases")
        with _FILES_LOCK:
            lease_file = _FILES.get(path)
            if lease_file is None:
                lease_file = _FILES[path] = cls(path)
            return lease_file

    def acquire(self, watch_id: str) -> bool:
        """True if this process now holds the watch; False if another process (or task here) holds it."""
        with self._lock:
            if watch_id in self._held:
                return False
            try:
                fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _offset(watch_id), os.SEEK_SET)
            except OSError as exc:
                if exc.errno in (errno.EACCES, errno.EAGAIN):
                    return False
                raise
            self._held.add(watch_id)
            return True

    def release(self, watch_id: str) -> None:
        with self._lock:
            if watch_id not in self._held:
                return
            self._held.discard(watch_id)
            fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, _offset(watch_id), os.SEEK_SET)

    def held(self) -> set[str]:
        with self._lock:
            return set(self._held)
