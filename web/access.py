"""Who may do what: writes always need a key (search/keys.py), sent as
`Authorization: Bearer KEY`; reading needs one only where
SEARCH_READ_NEEDS_KEY=1 (a newsroom's private archive), as Bearer or as the
password of HTTP Basic authentication, any user name (browsers ask for it
themselves: the page's 401 says `WWW-Authenticate: Basic`)."""

from __future__ import annotations

import base64
import binascii

from flask import Flask, current_app, request


from .errors import RequestError, wants_json
from .engine import keys

OPEN_ENDPOINTS = {"api.health", "static"}
"""What stays open even when reading needs a key: monitoring, and the page's own files."""


def sent_key(basic: bool) -> str:
    """The key the request carries, "" for none; as a Basic password only if `basic`."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic" and basic:
        try:
            return base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return ""
    return ""


def require_key(basic: bool = True) -> None:
    """401 (and nothing done) without a valid key; a Basic password counts
    only where `basic` (reading: browsers would send it with any form another
    site posts, so writes take Bearer alone)."""
    secret = sent_key(basic)
    challenge = {"WWW-Authenticate": 'Bearer realm="News search"' if wants_json()
                 else 'Basic realm="News search", charset="UTF-8"'}
    if not secret:
        raise RequestError("This needs a key: send `Authorization: Bearer KEY` (keys are made with "
                           "`search keys create`).", "unauthorized", 401, challenge)
    if keys().allows(secret) is None:
        raise RequestError("This key is not valid (revoked, or never made).", "unauthorized", 401, challenge)


def init_app(app: Flask) -> None:
    @app.before_request
    def reading_needs_a_key() -> None:
        if current_app.config["READ_NEEDS_KEY"] and request.endpoint not in OPEN_ENDPOINTS:
            require_key()
