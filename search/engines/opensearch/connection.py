"""Reaching the cluster: the address, the client, and OpenSearch's errors
turned into ours (errors.py), so that the CLI and the web app say what is
wrong in our words whatever the engine.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator
from urllib.parse import unquote

from opensearchpy import OpenSearch
from opensearchpy.exceptions import (
    AuthenticationException, AuthorizationException, ConnectionError, ConnectionTimeout, NotFoundError,
    TransportError,
)

from ...errors import BadQuery, EngineUnavailable, IndexNotFound, SearchTimeout

REQUEST_SECONDS = 60.0
"""How long a request other than a search may take (a bulk of articles, a refresh)."""
TRANSPORT_RETRIES = 2
"""Times the client tries another node (or the same again) after a
connection error or a 502/503/504, before giving up."""


@dataclass(frozen=True)
class Address:
    """`http(s)://[user:password@]host:port[,host:port...]/NAME` (each host
    may also be written as a whole URL): the nodes to talk to and the name
    searched (an alias, see aliases.py)."""

    scheme: str
    hosts: tuple[tuple[str, int], ...]
    name: str
    auth: tuple[str, str] | None = None

    @property
    def location(self) -> str:
        """The address as the CLI takes it, without the credentials."""
        hosts = ",".join(f"[{host}]:{port}" if ":" in host else f"{host}:{port}" for host, port in self.hosts)
        return f"opensearch+{self.scheme}://{hosts}/{self.name}"


_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*")
_HOST = re.compile(r"(?:(?P<scheme>https?)://)?(?:(?P<userinfo>[^@/]*)@)?"
                   r"(?P<host>\[[^\]]+\]|[^:/\[\]]+)(?::(?P<port>\d+))?")


def parse_address(address: str) -> Address:
    """The Address of `address`; ValueError saying what is wrong."""
    example = "as in http://localhost:9200/articles"
    nodes, _, name = address.rstrip("/").rpartition("/")
    if not _NAME.fullmatch(name) or len(name) > 200:
        raise ValueError(f"{address!r}: name the index after the host, in lowercase letters, digits, - _ "
                         f"or ., {example}")
    scheme, auth, hosts = None, None, []
    for item in nodes.split(","):
        m = _HOST.fullmatch(item.strip())
        if m is None or (scheme and m["scheme"] and m["scheme"] != scheme) or (not scheme and not m["scheme"]):
            raise ValueError(f"{address!r}: {item!r} is not a node: give http(s)://host:port, {example}")
        scheme = scheme or m["scheme"]
        if m["userinfo"]:
            user, _, password = m["userinfo"].partition(":")
            auth = (unquote(user), unquote(password))
        hosts.append((m["host"].strip("[]"), int(m["port"] or 9200)))
    return Address(scheme, tuple(hosts), name, auth)


def connect(address: Address) -> OpenSearch:
    """A client for the address's nodes (thread-safe: one serves every
    request of a web app)."""
    return OpenSearch(
        hosts=[{"host": host, "port": port} for host, port in address.hosts],
        http_auth=address.auth,
        use_ssl=address.scheme == "https",
        verify_certs=True,
        timeout=REQUEST_SECONDS,
        max_retries=TRANSPORT_RETRIES,
        retry_on_status=(502, 503, 504),
        http_compress=True,
        maxsize=25,
    )


def reason(exc: TransportError) -> str:
    """OpenSearch's own explanation of an error, as deep as it goes (the
    root cause says more than "all shards failed")."""
    info = exc.info if isinstance(exc.info, dict) else {}
    error = info.get("error")
    if isinstance(error, dict):
        causes = error.get("root_cause") or []
        cause = causes[0] if causes and isinstance(causes[0], dict) else error
        caused_by = error.get("caused_by") if isinstance(error.get("caused_by"), dict) else None
        found = cause.get("reason") or (caused_by or {}).get("reason") or error.get("reason")
        if found:
            return str(found)
    return str(exc.error or exc)


def not_found(location: str) -> IndexNotFound:
    return IndexNotFound(f"No index at {location}. Build one with: search index PATH --index-dir {location}")


def _too_many_words(text: str) -> bool:
    return "too_many_clauses" in text or "maxClauseCount" in text or "too many clauses" in text.lower()


@contextmanager
def translated(location: str, searching: bool = False) -> Iterator[None]:
    """Run a block that talks to the cluster, turning what OpenSearch
    raises into our errors. `searching`: a timeout is the search's
    (SearchTimeout), and a request OpenSearch cannot parse is the query's
    (BadQuery); elsewhere both mean the cluster is not answering as it should."""
    try:
        yield
    except ConnectionTimeout:
        if searching:
            raise SearchTimeout("The search took too long and was stopped; use fewer or more specific words.") from None
        raise EngineUnavailable(f"OpenSearch at {location} did not answer in time; try again in a moment.") from None
    except ConnectionError as exc:
        raise EngineUnavailable(f"Cannot reach OpenSearch at {location} ({_short(exc)}); "
                                "try again in a moment.") from None
    except (AuthenticationException, AuthorizationException) as exc:
        raise EngineUnavailable(f"OpenSearch at {location} refused the request: {reason(exc)}.") from None
    except TransportError as exc:
        why = reason(exc)
        status = exc.status_code if isinstance(exc.status_code, int) else 0
        if _too_many_words(f"{why} {exc.info}"):  # a wildcard's words over the cluster's limit (a 500)
            raise BadQuery("The query's wildcards match too many different words; type more letters before "
                           "the * or ?.") from None
        if isinstance(exc, NotFoundError) and "index_not_found" in str(exc.error):
            raise not_found(location) from None
        if status == 400 and searching:
            raise BadQuery(f"The query cannot be run: {why}") from None
        if status == 429 or status >= 500:
            raise EngineUnavailable(f"OpenSearch at {location} cannot answer now ({why}); "
                                    "try again in a moment.") from None
        raise


def _short(exc: ConnectionError) -> str:
    cause = exc.info if isinstance(exc.info, Exception) else exc.error
    return str(cause).split(":")[-1].strip() or "connection failed"
