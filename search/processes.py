"""Worker processes: how many to start, and making sure none outlives its parent.

Indexing (segments.py) and searching (engines/whoosh/workers.py) both hand their
Python computing to one worker process per core, since threads of one process
compute one at a time.
"""

from __future__ import annotations

import ctypes
import os
import signal

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def worker_count() -> int:
    """One worker per core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def die_with_parent(parent: int) -> None:
    """Ask Linux to kill this process the moment its parent (pid `parent`)
    dies, even by SIGKILL, so no orphan goes on writing into the index or
    holding the server's port. Elsewhere callers notice through os.getppid()."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request
        os._exit(1)


def default_workers() -> int:
    """Search processes to start: one per core; none on a single core, where
    one would only add the cost of handing searches over."""
    cores = worker_count()
    return cores if cores > 1 else 0
