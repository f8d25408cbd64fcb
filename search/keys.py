"""Keys that allow writing articles over HTTP (`Authorization: Bearer KEY`).

A key is 32 random bytes (URL-safe base64), shown once when created; only
its SHA-256 is stored, in `keys.json` beside the index's generations (so
rebuilds keep it). A fast hash is enough for keys this random: no one can
guess one from its hash, and checking one costs microseconds, not the
fraction of a second a password hash would add to every write.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import secrets
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from .engine import OPENSEARCH
from .errors import IndexWriteError, SearchError

FILE = "keys.json"


class UnknownKey(SearchError):
    """No key has that id."""


@dataclass(frozen=True)
class Key:
    id: str
    """Names the key in `search keys list` and `revoke`: the start of its hash."""
    name: str
    created: str
    sha256: str


class Keys:
    """The write keys kept in the folder `folder`."""

    def __init__(self, folder: str | os.PathLike):
        self.path = Path(folder) / FILE

    @classmethod
    def of(cls, index: str, keys_dir: str = "") -> Keys:
        """The keys of the index at `index` (a folder or an engine address,
        see engine.open_engine): in `keys_dir` when given, else in the
        index's folder; an OpenSearch index has none, and ./keys serves."""
        folder = keys_dir or ("keys" if index.startswith(OPENSEARCH) else index)
        return cls(Path(folder).absolute())

    def all(self) -> list[Key]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
            return [Key(**entry) for entry in data["keys"]]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as exc:  # no access, or not our file
            raise IndexWriteError(f"Cannot read the keys in {self.path} ({exc}); "
                                  "make them again with `search keys create`.") from None

    def create(self, name: str = "") -> tuple[Key, str]:
        """A new key, and its secret (the only time it is shown)."""
        secret = secrets.token_urlsafe(32)
        digest = _digest(secret)
        key = Key(digest[:8], name, datetime.now(timezone.utc).isoformat(timespec="seconds"), digest)
        with self._changing():
            self._save([*self.all(), key])
        return key, secret

    def revoke(self, key_id: str) -> Key:
        with self._changing():
            keys = self.all()
            gone = [key for key in keys if key.id == key_id]
            if not gone:
                raise UnknownKey(f"No key has the id {key_id!r}; `search keys list` shows them.")
            self._save([key for key in keys if key.id != key_id])
        return gone[0]

    @contextmanager
    def _changing(self) -> Iterator[None]:
        """One change at a time: two at once would each write back the keys
        they read, and one's change would be lost (a revoked key kept)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(f".{FILE}.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def allows(self, secret: str) -> Key | None:
        """The key `secret` is, None if it is none of them (revoked, or never made)."""
        digest = _digest(secret)
        for key in self.all():
            if hmac.compare_digest(key.sha256, digest):
                return key
        return None

    def _save(self, keys: list[Key]) -> None:
        """Written whole to a temporary file and renamed, readable by its owner only."""
        tmp = self.path.with_name(f".{FILE}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"keys": [asdict(key) for key in keys]}, f, indent=1)
        os.replace(tmp, self.path)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
