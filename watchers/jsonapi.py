"""Pieces shared by the watchers of JSON APIs (DOJ, Federal Register): safe decoding, list-or-one keys,
how a warning names one result."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BeforeValidator

from monitor.errors import ParseError
from monitor.models import Fetched
from watchers.listing import label


def _as_list(value: Any) -> Any:
    """Let a single name stand for a one-element list (`component: Civil Rights Division`)."""
    return [value] if isinstance(value, str) else value


NameList = Annotated[list[str], BeforeValidator(_as_list)]


def load_json(fetched: Fetched, what: str) -> Any:
    """The decoded JSON body; a ParseError that says what came instead (HTML, XML, junk)."""
    body = fetched.body
    if not body.strip():
        raise ParseError(f"{fetched.url}: the response is empty, not {what}")
    head = body[:512].lstrip().lower()
    if head.startswith(b"<"):
        found = "an HTML page" if (b"<html" in head or b"<!doctype html" in head or b"<div" in head) else "XML"
        raise ParseError(
            f"{fetched.url}: got {found} where {what} (JSON) was expected; a bot challenge, "
            "an error page or a wrong `url`? Check the URL in a browser"
        )
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"{fetched.url}: {what} is not valid JSON ({exc}); truncated or not an API response") from exc


def result_name(position: int, raw: Any, title_key: str, *other_keys: str) -> str:
    """How a warning names one result of an API: its title, else the first of `other_keys` it has."""
    if not isinstance(raw, Mapping):
        return f"result {position}"
    title = raw.get(title_key)
    other = next((str(raw[k]) for k in other_keys if raw.get(k) not in (None, "")), None)
    return label(position, title if isinstance(title, str) else None, other, kind="result")
