"""deploy/slack-app-manifest.yaml: the Slack app in one paste, with exactly the bot scopes the monitor uses."""

from __future__ import annotations

from pathlib import Path

import yaml

from notifiers.slack import BOT_SCOPES

MANIFEST = Path(__file__).resolve().parents[1] / "deploy" / "slack-app-manifest.yaml"
# chat:write.public posts to public channels without an /invite; files:write is for uploading document
# thumbnails (a planned feature). Anything more would be a scope the monitor does not use.
OPTIONAL_SCOPES = {"chat:write.public", "files:write"}


def test_manifest_grants_the_scopes_the_code_needs_and_no_others():
    """The manifest parses as YAML, names the app and its bot user, and asks for the needed scopes only."""
    manifest = yaml.safe_load(MANIFEST.read_text())
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert set(BOT_SCOPES) <= set(scopes) and "files:write" in scopes
    assert set(scopes) == set(BOT_SCOPES) | OPTIONAL_SCOPES and len(scopes) == len(set(scopes))
    assert "user" not in manifest["oauth_config"]["scopes"]  # no user token: the bot posts as itself


def test_manifest_is_within_slacks_limits_and_subscribes_to_no_events():
    """Name (35 characters), description (140) and bot name (80) fit Slack's limits; no events, no sockets."""
    manifest = yaml.safe_load(MANIFEST.read_text())
    info, bot = manifest["display_information"], manifest["features"]["bot_user"]
    assert 0 < len(info["name"]) <= 35 and 0 < len(info["description"]) <= 140
    assert 0 < len(bot["display_name"]) <= 80
    assert "event_subscriptions" not in manifest.get("settings", {}) and "event_subscriptions" not in manifest
    assert manifest["settings"]["socket_mode_enabled"] is False and "interactivity" not in manifest.get("settings", {})
