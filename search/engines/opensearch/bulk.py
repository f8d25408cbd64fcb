"""Writing many documents: batches sent with opensearch-py's
`streaming_bulk`, and what the cluster could not take just then (429 too
many requests, 502-504, a node unreachable) sent again after a pause that
doubles each time. A document refused for good (a mapping it does not fit)
is returned with the reason, for the report; the rest are written.
"""

from __future__ import annotations

import time
from typing import Callable, Iterable, Iterator, TypeVar

from opensearchpy import OpenSearch, helpers

from ...errors import EngineUnavailable

Note = TypeVar("Note")
"""What the caller wants back about a document that could not be written."""

BATCH_DOCS = 500
BATCH_CHARS = 4_000_000
"""Characters of text in one batch: at most ~12 MB of UTF-8, well under
OpenSearch's 100 MB request limit."""
RETRYABLE = {429, 502, 503, 504}
ROUNDS = 8
"""Tries of a batch: the pauses between them (0.5 s doubling, at most
MAX_PAUSE) add up to about a minute, long enough for a node to restart."""
FIRST_PAUSE = 0.5
MAX_PAUSE = 30.0


def write(client: OpenSearch, actions: Iterable[tuple[dict, Note]], location: str, refresh: str | None = None,
          on_batch: Callable[[], None] | None = None) -> list[tuple[Note, str]]:
    """Send `actions` (streaming_bulk's action dicts, each with an `_id`
    unique in the run, and the caller's note on it) as they come; the notes
    of those refused for good, with the reason. EngineUnavailable when the
    cluster does not take a batch within ROUNDS tries. `on_batch` is called
    after each batch (for progress)."""
    refused: list[tuple[Note, str]] = []
    for batch in _batches(actions):
        refused += _send(client, batch, location, refresh)
        if on_batch is not None:
            on_batch()
    return refused


def _batches(actions: Iterable[tuple[dict, Note]]) -> Iterator[list[tuple[dict, Note]]]:
    batch: list[tuple[dict, Note]] = []
    chars = 0
    for action, note in actions:
        batch.append((action, note))
        chars += sum(len(v) for v in action.get("_source", {}).values() if isinstance(v, str))
        if len(batch) >= BATCH_DOCS or chars >= BATCH_CHARS:
            yield batch
            batch, chars = [], 0
    if batch:
        yield batch


def _send(client: OpenSearch, batch: list[tuple[dict, Note]], location: str, refresh: str | None
          ) -> list[tuple[Note, str]]:
    refused: list[tuple[Note, str]] = []
    pending = batch
    why = ""
    for attempt in range(ROUNDS):
        if attempt:
            time.sleep(min(MAX_PAUSE, FIRST_PAUSE * 2 ** (attempt - 1)))
        by_id = {action["_id"]: (action, note) for action, note in pending}
        again = []
        kwargs = {"refresh": refresh} if refresh else {}
        for _, info in helpers.streaming_bulk(client, [action for action, _ in pending], chunk_size=len(pending),
                                              max_chunk_bytes=4 * BATCH_CHARS, raise_on_error=False,
                                              raise_on_exception=False, yield_ok=False, **kwargs):
            kind, item = info.popitem()
            status = item.get("status")
            if kind == "delete" and status == 404:
                continue  # already gone
            if status in RETRYABLE or not isinstance(status, int):  # not an int: the request failed ("N/A")
                again.append(by_id[item["_id"]])
                why = _reason(item)
            else:
                refused.append((by_id[item["_id"]][1], _reason(item)))
        if not again:
            return refused
        pending = again
    raise EngineUnavailable(f"OpenSearch at {location} did not take {len(pending)} articles in {ROUNDS} tries "
                            f"({why}); run again to finish.")


def _reason(item: dict) -> str:
    error = item.get("error")
    if isinstance(error, dict):
        return str(error.get("reason") or error.get("type") or error)
    return str(error or f"status {item.get('status')}")
