"""Configuration loading and `monitor validate`: every problem, with its location, at once."""

from __future__ import annotations

import pytest

from monitor.config import Config, load, loads, mask
from monitor.errors import ConfigError
from monitor.schedule import Schedule
from tests.conftest import run_cli
from watchers.feed import FeedConfig

GOOD = """
defaults:
  every: 5m
notifiers:
  terminal: {type: console}
watches:
  - id: doj-news
    type: feed
    url: http://127.0.0.1:9/feed.xml
    keywords: {any: [sanctuary]}
"""


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        loads(text, source="w.yaml", env=env or {})
    return info.value.problems


def schedule_of(config: Config, watch_id: str) -> Schedule:
    """A watch's `every` as loaded: resolved (from `defaults` when the watch has none), never None."""
    every = config.watch(watch_id).every
    assert every is not None, f"{watch_id}: no schedule after loading"
    return every


def test_good_config_resolves_defaults():
    """A watch without `every`/`notify` takes them from `defaults` (notify: all notifiers when unset)."""
    config = loads(GOOD, env={})
    watch = config.watch("doj-news")
    assert schedule_of(config, "doj-news").seconds == 300
    assert watch.notify == ["terminal"]


def test_unknown_key_is_named_with_line_and_allowed_keys():
    """A misspelt key is reported with file:line, its key path, and the keys allowed there."""
    text = GOOD.replace("keywords:", "keywordz:")
    [problem] = problems(text)
    assert problem.startswith("w.yaml:10: watches[0].keywordz: unknown key 'keywordz'")
    assert "keywords" in problem and "url" in problem


def test_every_problem_reported_at_once():
    """Wrong type, bad interval, duplicate id, unknown notifier and an unset ${VAR} all come back together."""
    text = """
notifiers:
  slackish: {type: console}
watches:
  - id: a
    type: feed
    url: ${FEED_URL}
    every: 5 minutes
  - id: a
    type: feed
    url: http://x/
    notify: [nobody]
  - id: b
    type: html
    url: http://x/
    item: li
    alert_removals: maybe
"""
    found = "\n".join(problems(text))
    assert "environment variable FEED_URL is not set" in found
    assert "watches[0].every" in found and "not a duration" in found
    assert "duplicate watch id 'a'" in found
    assert "no notifier named 'nobody'" in found
    assert "watches[2].alert_removals" in found


def test_unknown_watch_type_lists_known_types():
    """An unknown `type` names the known watch types."""
    [problem] = problems("watches:\n  - {id: x, type: fed, url: http://x/}\n")
    assert "unknown watch type 'fed'" in problem and "feed" in problem and "html" in problem


def test_a_type_that_is_not_text_is_an_unknown_type_not_a_crash():
    """`type: [feed]` or `type: {x: 1}` (YAML's list and mapping) read as unknown types, named, like any other."""
    found = problems(
        "watches:\n  - {id: a, type: [feed], url: 'http://x/'}\n  - {id: b, type: {x: 1}, url: 'http://x/'}\n"
        "notifiers:\n  n: {type: [console]}\n"
    )
    assert any("watches[0].type" in p and "unknown watch type ['feed']" in p for p in found), found
    assert any("watches[1].type" in p and "unknown watch type {'x': 1}" in p for p in found), found
    assert any("notifiers.n.type" in p and "unknown notifier type ['console']" in p for p in found), found


def test_cron_and_interval_forms():
    """Intervals take units (90s, 1h30m) and a 5-field cron expression; a bad cron is an error."""
    config = loads(
        "watches:\n  - {id: x, type: feed, url: 'http://x/', every: '1h30m'}\n"
        "  - {id: y, type: feed, url: 'http://x/', every: '*/10 * * * *'}\n",
        env={},
    )
    assert schedule_of(config, "x").seconds == 5400
    assert schedule_of(config, "y").cron == "*/10 * * * *"
    assert (
        "not a valid cron" in problems("watches:\n  - {id: x, type: feed, url: 'http://x/', every: '99 * * * *'}\n")[0]
    )


def test_env_substitution_and_masking():
    """${VAR} is filled from the environment, ${VAR:-default} falls back, and the values are masked in output."""
    config = loads(
        "state: ${STATE:-sqlite:///x.db}\nwatches:\n  - {id: x, type: feed, url: 'http://h/?key=${API_KEY}'}\n",
        env={"API_KEY": "s3cret-value"},
    )
    assert config.state_url == "sqlite:///x.db"
    watch = config.watch("x")
    assert isinstance(watch, FeedConfig) and watch.url == "http://h/?key=s3cret-value"
    assert mask("fetching http://h/?key=s3cret-value failed", config.secrets) == "fetching http://h/?key=*** failed"


def test_monitor_state_env_overrides_config(monkeypatch, tmp_path):
    """MONITOR_STATE wins over `state:` in the file, so one config serves several deployments."""
    path = tmp_path / "w.yaml"
    path.write_text("state: sqlite:///from-file.db\nwatches: []\n")
    monkeypatch.setenv("MONITOR_STATE", "sqlite:///from-env.db")
    assert load(path).state_url == "sqlite:///from-env.db"


def test_validate_cli_wrong_key_exits_2_and_names_it(write_config):
    """`monitor validate` with a wrong key exits 2 and its message names the key and where it is."""
    path = write_config(GOOD.replace("url:", "ur1:"))
    result = run_cli("validate", "--config", str(path))
    assert result.code == 2
    assert "watches[0].ur1: unknown key 'ur1'" in result.err


def test_check_cli_wrong_key_exits_2(write_config):
    """`monitor check` refuses to run on a broken configuration: exit 2, nothing checked."""
    path = write_config(GOOD.replace("every: 5m", "every: 5m\n  colour: red"))
    result = run_cli("check", "--config", str(path))
    assert result.code == 2
    assert "defaults.colour: unknown key 'colour'" in result.err


def test_missing_config_file_is_a_clear_error(tmp_path):
    """A missing config file says which path was tried and how to point at another."""
    result = run_cli("validate", "--config", str(tmp_path / "nope.yaml"))
    assert result.code == 2
    assert "no such configuration file" in result.err and "--config" in result.err


def test_invalid_yaml_names_the_line(write_config):
    """Broken YAML is reported with its line number."""
    path = write_config("watches:\n  - id: x\n   type: feed\n")
    result = run_cli("validate", "--config", str(path))
    assert result.code == 2 and "not valid YAML" in result.err and "watches.yaml:" in result.err


def test_html_selector_checked_at_validation():
    """A CSS selector the lxml engine cannot compile is a configuration error, not a runtime surprise."""
    [problem] = problems("watches:\n  - {id: x, type: html, url: 'http://x/', item: 'li[[['}\n")
    assert "CSS selector" in problem and "engine: bs4" in problem


def test_shipped_config_validates(monkeypatch):
    """The shipped config/watches.yaml is valid (with its secrets set), so the quick start works."""
    from pathlib import Path

    shipped = Path(__file__).resolve().parents[2] / "config" / "watches.yaml"
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "COURTLISTENER_TOKEN": "0" * 40, "SMTP_USER": "u", "SMTP_PASSWORD": "p"}
    config = loads(shipped.read_text(), source=str(shipped), env=env)
    assert config.watches, "the shipped config should watch something"


def test_cron_weekdays_mean_what_they_mean_to_cron():
    """Validation reads cron weekdays as cron does (0 and 7 are Sunday), the same as the daemon schedules them."""
    config = loads(
        "watches:\n  - {id: s, type: feed, url: 'http://x/', every: '0 9 * * 7'}\n"
        "  - {id: w, type: feed, url: 'http://x/', every: '0 9 * * 1-5'}\n",
        env={},
    )
    assert schedule_of(config, "s").nominal_seconds() == 7 * 86400
    assert schedule_of(config, "w").cron == "0 9 * * 1-5"


def test_unknown_top_level_key_hides_nothing_else():
    """`defualts:` is reported with the key meant, beside every problem in the watches and notifiers, and the
    misspelt section's own problems come out in the same run."""
    found = problems("""
defualts:
  every: 5
notifiers:
  terminal: {type: console, strem: stdout}
watches:
  - {id: a, type: feed, url: 'http://x/', every: '0 9 * * monkey'}
  - {id: b, type: feed, url: 'http://x/', keywordz: {any: [x]}}
  - {id: c, type: feed, url: 'http://x/', every: 5}
""")
    text = "\n".join(found)
    assert (
        "w.yaml:2: defualts: unknown key 'defualts'; did you mean 'defaults'? allowed keys here: daemon, defaults"
        in text
    )
    assert "defualts.every: 5 what?" in text
    assert "notifiers.terminal.strem: unknown key 'strem'; did you mean 'stream'?" in text
    assert "watches[0].every" in text and "'monkey' is not a valid day-of-week" in text
    assert "watches[1].keywordz: unknown key 'keywordz'; did you mean 'keywords'?" in text
    assert "watches[2].every: 5 what?" in text
    assert len(found) == 6


def test_an_unknown_nested_key_lists_the_keys_of_its_own_section():
    """`defaults.colour` lists what `defaults` accepts, not the top-level keys; no guess when none is close."""
    [problem] = problems("defaults:\n  colour: red\n")
    assert "defaults.colour: unknown key 'colour'; allowed keys here: every, notify, timezone" in problem


def test_a_bad_top_level_value_does_not_stop_the_watches_being_checked():
    """An invalid `http:` section and a broken watch are both reported."""
    found = "\n".join(problems("http: {timeout: soon}\nwatches:\n  - {id: x, type: feed}\n  - just text\n"))
    assert "http.timeout" in found and "watches[0]" in found and "watches[1]: expected a mapping" in found


def test_min_delay_accepts_durations_and_zero_and_rejects_the_rest():
    """http.min_delay and a watch's min_delay take a duration or 0 (off); a negative or wordy value is
    an error with its location."""
    config = loads(
        GOOD.replace("defaults:", "http: {min_delay: 2s}\ndefaults:").replace(
            "keywords:", "min_delay: 0\n    keywords:"
        ),
        env={},
    )
    assert config.http.min_delay == 2.0 and config.watch("doj-news").min_delay == 0.0
    found = "\n".join(problems(GOOD.replace("defaults:", "http: {min_delay: -1}\ndefaults:")))
    assert "http.min_delay" in found and "cannot be negative" in found
    found = "\n".join(problems(GOOD.replace("keywords:", "min_delay: often\n    keywords:")))
    assert "watches[0].min_delay" in found and "not a duration" in found
