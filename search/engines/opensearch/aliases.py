"""Concrete indexes behind the name searched, for atomic rebuilds.

The name in the address is an alias for one concrete index, `NAME-<UTC
time to the microsecond>`. A rebuild fills a new concrete index beside the
live one and only once it is complete moves the alias to it in one
`_aliases` call (atomic: every search sees the old index or the new one),
then the old one is deleted. An interrupted rebuild leaves its half-built
index unaliased, unseen by searches; the next writer deletes it.

Each index's mapping `_meta` records its format and analysis (to refuse
an index this program would misread) and when it was created and updated.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from opensearchpy import OpenSearch

from ... import __version__
from ...errors import IndexOutdated
from .mapping import ANALYSIS_VERSION, INDEX_FORMAT, mappings, settings


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _concrete_pattern(alias: str) -> re.Pattern:
    return re.compile(rf"{re.escape(alias)}-\d{{8}}t\d{{12}}")


def live(client: OpenSearch, alias: str) -> str | None:
    """The concrete index the alias names, None when there is none.
    IndexOutdated when the name is not an alias of ours (an index made
    otherwise, or an alias of several indexes)."""
    found = client.indices.get_alias(name=alias, ignore=404)
    if found.get("status") == 404:
        if client.indices.exists(index=alias):
            raise IndexOutdated(f"{alias} is an index this program did not make (it makes an alias {alias} for "
                                f"indexes named {alias}-<time>); give another name, or delete it.")
        return None
    names = sorted(found)
    if len(names) != 1:
        raise IndexOutdated(f"The alias {alias} names {len(names)} indexes ({', '.join(names)}); "
                            "it should name one: rebuild with --rebuild.")
    return names[0]


def new_index(client: OpenSearch, alias: str, shards: int, replicas: int, aliased: bool = False) -> str:
    """Create an empty concrete index for `alias` (named by the alias too,
    atomically, with `aliased`: a first index); its name."""
    name = f"{alias}-{datetime.now(timezone.utc).strftime('%Y%m%dt%H%M%S%f')}"
    created = now()
    meta = {"format": INDEX_FORMAT, "analysis": ANALYSIS_VERSION, "program_version": __version__,
            "created": created, "updated": created}
    body = {"settings": settings(shards, replicas), "mappings": mappings(meta)}
    if aliased:
        body["aliases"] = {alias: {}}
    client.indices.create(index=name, body=body)
    return name


def switch(client: OpenSearch, alias: str, old: str | None, new: str) -> None:
    """Point the alias at `new` instead of `old`, in one step."""
    actions = [{"add": {"index": new, "alias": alias}}]
    if old is not None:
        actions.insert(0, {"remove": {"index": old, "alias": alias}})
    client.indices.update_aliases(body={"actions": actions})


def remove_unaliased(client: OpenSearch, alias: str) -> None:
    """Delete the concrete indexes of `alias` it does not name: what
    rebuilds killed outright left. Only a writer holding the lock may: any
    other writer's rebuild would be one of them."""
    pattern = _concrete_pattern(alias)
    found = client.indices.get_alias(index=f"{alias}-*", ignore_unavailable=True, allow_no_indices=True)
    for name, info in found.items():
        if pattern.fullmatch(name) and alias not in info.get("aliases", {}):
            client.indices.delete(index=name, ignore_unavailable=True)


def meta(client: OpenSearch, index: str) -> dict:
    found = client.indices.get_mapping(index=index)
    return found[index]["mappings"].get("_meta", {})


def touch(client: OpenSearch, index: str) -> None:
    """Record that the index changed now."""
    client.indices.put_mapping(index=index, body={"_meta": meta(client, index) | {"updated": now()}})


def check_version(client: OpenSearch, index: str, location: str) -> None:
    """Refuse an index this program would misread, saying how to fix it."""
    found = meta(client, index)
    if found.get("format") != INDEX_FORMAT or found.get("analysis") != ANALYSIS_VERSION:
        raise IndexOutdated(
            f"The index at {location} was built with analysis {found.get('analysis')} (format "
            f"{found.get('format')}); this program analyzes text with {ANALYSIS_VERSION} (format {INDEX_FORMAT}). "
            f"Rebuild it with: search index PATH ... --rebuild --index-dir {location}")
