"""One contract over every registered plugin: documented, strict config, and failures that stay failures.

Every watcher kind is run against a local server that answers HTTP 500, an HTML error page with status
200, an empty body, garbage, too slowly, a compression bomb and a redirect to `data:`; each must fail
cleanly (a recorded error, no change, no crash), never report items. Every kind must document itself
and reject unknown keys.
"""

from __future__ import annotations

import json

import pytest

from notifiers import NOTIFIERS, Notifier
from tests.conftest import run_cli
from tests.support.bombs import gzip_of, gzip_zeros
from tests.support.http_server import Route
from watchers import WATCHERS, WatchConfig, Watcher

BAD_ANSWERS = {
    "http-500": Route(b"<html><body>Internal Server Error</body></html>", status=500, content_type="text/html"),
    "html-error-page": Route(
        b"<!DOCTYPE html><html><head><title>Error</title></head><body><h1>Service unavailable</h1></body></html>",
        content_type="text/html",
    ),
    "empty-body": Route(b"", content_type="application/json"),
    "garbage": Route(b"\x00\x01{<not json nor xml", content_type="application/octet-stream"),
    "too-slow": Route(b"{}", delay=2.5, content_type="application/json"),
    "gzip-gzip-bomb": Route(
        gzip_of(gzip_zeros(6 * 1024)), headers={"Content-Encoding": "gzip, gzip"}, content_type="application/json"
    ),
    "redirect-to-data": Route(b"", status=302, headers={"Location": "data:text/plain,hello"}),
}


def _yaml_value(value) -> str:
    return json.dumps(value)


def watcher(kind: str) -> type[Watcher]:
    cls = WATCHERS[kind]
    assert issubclass(cls, Watcher), f"{kind}: {cls} is not a Watcher"
    return cls


def watch_yaml(kind: str, base: str) -> str:
    example = json.loads(json.dumps(watcher(kind).example).replace("{base}", base))
    lines = [f"  - id: contract-{kind}", f"    type: {kind}"]
    lines += [f"    {key}: {_yaml_value(value)}" for key, value in example.items()]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("kind", sorted(WATCHERS))
def test_watcher_is_documented(kind):
    """Each watcher module says what it watches and lists its config keys in its docstring."""
    import sys

    cls = watcher(kind)
    doc = sys.modules[cls.__module__].__doc__ or ""
    assert len(doc) > 200, f"{kind}: module docstring is the user documentation"
    own_keys = set(cls.Config.model_fields) - set(WatchConfig.model_fields)  # the keys every kind has
    for key in own_keys:
        assert f"`{key}`" in doc, f"{kind}: key {key!r} is not documented in {cls.__module__}"
    assert cls.example, f"{kind}: needs an `example` config"


@pytest.mark.parametrize("kind", sorted(NOTIFIERS))
def test_notifier_is_documented(kind):
    """Each notifier module documents its keys."""
    import sys

    cls = NOTIFIERS[kind]
    assert issubclass(cls, Notifier), f"{kind}: {cls} is not a Notifier"
    doc = sys.modules[cls.__module__].__doc__ or ""
    assert len(doc) > 100
    for key in set(cls.Config.model_fields) - {"type"}:
        assert f"`{key}`" in doc, f"{kind}: key {key!r} is not documented in {cls.__module__}"


@pytest.mark.parametrize("kind", sorted(WATCHERS))
def test_unknown_key_rejected(kind, write_config, server):
    """A misspelt key in any watcher's config is a configuration error naming the key."""
    path = write_config("watches:\n" + watch_yaml(kind, server.base_url) + "    colour: red\n")
    result = run_cli("validate", "--config", str(path))
    assert result.code == 2 and "unknown key 'colour'" in result.err


@pytest.mark.parametrize("answer", sorted(BAD_ANSWERS))
@pytest.mark.parametrize("kind", sorted(WATCHERS))
def test_bad_answers_fail_cleanly(kind, answer, write_config, server):
    """Whatever the server answers wrongly, the watch fails with a reason and records no change."""
    server.default = BAD_ANSWERS[answer]
    path = write_config("http: {timeout: 1s}\nwatches:\n" + watch_yaml(kind, server.base_url))
    result = run_cli("check", "--config", str(path), "--json")
    assert result.code == 1, result.out + result.err
    [watch] = json.loads(result.out)["watches"]
    assert not watch["ok"] and watch["error"] and watch["changes"] == []
    assert "Traceback" not in result.err
