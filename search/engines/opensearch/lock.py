"""One writer at a time: a lock document in a small index of its own
(`NAME-lock`), created only if absent (OpenSearch's op_type=create is
atomic), so that two `search index` runs, or a run and a write over HTTP,
cannot interleave (a write over HTTP during a rebuild would be lost with the
old index), and so that a writer may delete what an interrupted rebuild left.

A writer that dies keeps no lock for long: the holder renews it every
LOCK_SECONDS / 3, and a lock not renewed for LOCK_SECONDS is taken over
(by the clock of the machine that finds it: writers' clocks are taken to
agree to within a few seconds).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from typing import Iterator

from opensearchpy import OpenSearch
from opensearchpy.exceptions import TransportError

from ...errors import IndexBusy

LOCK_SECONDS = 60.0
POLL_SECONDS = 0.2
_DOC = "writer"


@contextmanager
def writer_lock(client: OpenSearch, alias: str, location: str, wait: float = 0.0) -> Iterator[None]:
    """The write lock of `alias`, held for the block; IndexBusy after
    `wait` seconds of another writer holding it."""
    index = f"{alias}-lock"
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
    until = time.monotonic() + wait
    if not client.indices.exists(index=index):
        client.indices.create(index=index, body={"settings": {"number_of_shards": 1, "auto_expand_replicas": "0-1"}},
                              ignore=400)  # 400: another writer created it meanwhile
    while not _take(client, index, owner):
        if time.monotonic() >= until:
            raise IndexBusy(f"Another writer (`search index`, or a write over HTTP) is writing {location}; "
                            "wait for it to finish.")
        time.sleep(POLL_SECONDS)
    stop = threading.Event()
    renewer = threading.Thread(target=_renew, args=(client, index, owner, stop), daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()
        _release(client, index, owner)


def _take(client: OpenSearch, index: str, owner: str) -> bool:
    """Whether the lock is now `owner`'s: free, or abandoned (expired) and taken over."""
    body = {"owner": owner, "expires": time.time() + LOCK_SECONDS}
    if client.create(index=index, id=_DOC, body=body, refresh="true", ignore=409).get("result") == "created":
        return True
    held = client.get(index=index, id=_DOC, ignore=404)
    if not held.get("found") or held["_source"].get("expires", 0) > time.time():
        return False  # released meanwhile (try again), or held
    # Abandoned: taken over, only if nobody renewed or took it since it was read.
    taken = client.index(index=index, id=_DOC, body=body, if_seq_no=held["_seq_no"],
                         if_primary_term=held["_primary_term"], refresh="true", ignore=409)
    return taken.get("result") in ("created", "updated")


def _renew(client: OpenSearch, index: str, owner: str, stop: threading.Event) -> None:
    while not stop.wait(LOCK_SECONDS / 3):
        try:
            held = client.get(index=index, id=_DOC)
            if held["_source"].get("owner") != owner:
                return
            client.index(index=index, id=_DOC, body={"owner": owner, "expires": time.time() + LOCK_SECONDS},
                         if_seq_no=held["_seq_no"], if_primary_term=held["_primary_term"])
        except Exception:  # noqa: BLE001 - the cluster may be away a moment: try again at the next turn
            continue


def _release(client: OpenSearch, index: str, owner: str) -> None:
    try:
        held = client.get(index=index, id=_DOC)
        if held["_source"].get("owner") == owner:
            client.delete(index=index, id=_DOC, if_seq_no=held["_seq_no"], if_primary_term=held["_primary_term"],
                          refresh="true")
    except TransportError:
        pass  # taken over after it expired, or the cluster away: the lock expires by itself
