"""Configuration: YAML into typed models that reject unknown keys, with every problem reported at once.

Where it comes from: `--config PATH`, else `$MONITOR_CONFIG`, else `config/watches.yaml`.
`${VAR}` (or `${VAR:-default}`) anywhere in a string value is replaced from the environment, so
tokens and passwords live in the environment, never in the file. Each watch and notifier is validated
by the model its own plugin declares, so the allowed keys are listed in one place per plugin.
"""

from __future__ import annotations

import difflib
import marshal
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from monitor.errors import ConfigError
from monitor.http import DEFAULT_USER_AGENT, HttpSettings
from monitor.previews.settings import PreviewsConfig
from monitor.schedule import DEFAULT_TIMEZONE, Schedule, parse_duration
from watchers.base import WATCH_ID, DelayField, ScheduleField, TimezoneField, WatchConfig

DEFAULT_CONFIG = Path("config/watches.yaml")
DEFAULT_STATE = "sqlite:///data/monitor.db"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# libyaml's loader where PyYAML has it (its wheels do): about 6x faster on a file of 1,000 watches.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?i?b?)\s*$", re.IGNORECASE)


def parse_size(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a size; use bytes or a unit: 500KB, 10MB")
    number, unit = float(match.group(1)), match.group(2).lower().rstrip("b").rstrip("i")
    return int(number * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit])


class Defaults(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    every: ScheduleField = Field(default_factory=lambda: Schedule.parse("10m"))
    timezone: TimezoneField = Field(DEFAULT_TIMEZONE, description="IANA time zone cron schedules run in")
    notify: list[str] | None = Field(None, description="default notifiers; unset means all configured ones")


class HttpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timeout: float = Field(30.0, gt=0, description="seconds for a whole request")
    connect_timeout: float = Field(10.0, gt=0)
    max_bytes: int = Field(10 * 1024 * 1024, gt=0, description="largest body read; accepts 10MB etc.")
    per_host: int = Field(4, ge=1, le=64, description="concurrent requests to one host")
    user_agent: str = DEFAULT_USER_AGENT
    min_delay: DelayField = Field(
        0.0, description="least time between the starts of two requests to one host; 0 (the default) means no spacing"
    )

    transport: Literal["aiohttp", "httpx"] = Field(
        "aiohttp",
        description="what carries httpx's requests: aiohttp (faster) or httpx's own; "
        "MONITOR_HTTP_TRANSPORT overrides it",
    )

    @field_validator("max_bytes", mode="before")
    @classmethod
    def _size(cls, value: Any) -> int:
        return parse_size(value)

    @field_validator("timeout", "connect_timeout", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> float:
        return parse_duration(value)

    def settings(self) -> HttpSettings:
        return HttpSettings(
            timeout=self.timeout,
            connect_timeout=self.connect_timeout,
            max_bytes=self.max_bytes,
            per_host=self.per_host,
            user_agent=self.user_agent,
            min_delay=self.min_delay,
            transport=self.transport,
        )


class DeliveryConfig(BaseModel):
    """How the outbox retries: exponential backoff from `backoff` up to `backoff_max`, `max_attempts` in all."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(8, ge=1)
    backoff: float = Field(30.0, gt=0)
    backoff_max: float = Field(3600.0, gt=0)

    @field_validator("backoff", "backoff_max", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> float:
        return parse_duration(value)


DASHBOARD_TOKEN_ENV = "MONITOR_DASHBOARD_TOKEN"  # used when `daemon.dashboard_auth` is not set
MIN_DASHBOARD_TOKEN = 12


class DashboardAuth(BaseModel):
    """Who may read the dashboard and the Atom feeds: whoever sends the token, as `Authorization: Bearer
    <token>` or as the password of HTTP basic auth (what a browser or a feed reader asks for).

    `dashboard_auth: "${MONITOR_DASHBOARD_TOKEN}"` is short for `{token: "${MONITOR_DASHBOARD_TOKEN}"}`;
    `token_env: NAME` reads the variable NAME instead. Without the key, `$MONITOR_DASHBOARD_TOKEN` is used
    when it is set.
    """

    model_config = ConfigDict(extra="forbid")

    token: SecretStr | None = Field(None, description='the token, from the environment: "${MONITOR_DASHBOARD_TOKEN}"')
    token_env: str | None = Field(
        None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="the name of the environment variable holding the token, instead",
    )
    username: str | None = Field(None, description="basic auth: the user name to require (default: any)")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"token": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_source(self) -> DashboardAuth:
        if (self.token is None) == (self.token_env is None):
            raise ValueError(
                'give `token` (e.g. "${MONITOR_DASHBOARD_TOKEN}") or `token_env` (e.g. '
                "MONITOR_DASHBOARD_TOKEN), one of the two"
            )
        if self.token is not None:
            _check_token(self.token.get_secret_value())
        return self

    def secret(self) -> str:
        assert self.token is not None, "token_env is resolved when the configuration is loaded"
        return self.token.get_secret_value()


def _check_token(value: str) -> None:
    if len(value) < MIN_DASHBOARD_TOKEN:
        raise ValueError(
            f"the dashboard token is too short ({len(value)} characters): use at least "
            f"{MIN_DASHBOARD_TOKEN} random characters, e.g. from `openssl rand -hex 16`"
        )


class DaemonConfig(BaseModel):
    """Settings of `monitor run`."""

    model_config = ConfigDict(extra="forbid")

    listen: str = Field("127.0.0.1:9090", description="address for /healthz, /readyz and /metrics")
    jitter: float = Field(0.1, ge=0, le=1, description="random delay, as a fraction of the interval")
    down_after: float = Field(3600.0, gt=0, description="alert once when a source fails this long")
    max_backoff: float = Field(6 * 3600.0, gt=0, description="longest back-off for a failing source")
    shutdown_grace: float = Field(20.0, gt=0, description="seconds to finish in-flight work on SIGTERM")
    log_format: str = Field("auto", pattern="^(auto|text|json)$")
    lease: float = Field(
        120.0,
        gt=0,
        description="how long a replica holds a watch it is checking; a dead "
        "replica's watches are taken over after this",
    )
    config_poll: float = Field(30.0, gt=0, description="how often the config file is re-read for changes")
    max_checks: int = Field(
        32,
        ge=1,
        le=1000,
        description="checks one process runs at once; further runs wait "
        "their turn, first come first served, without holding their leases",
    )
    dashboard_auth: DashboardAuth | None = Field(
        None, description="token or basic-auth password for the dashboard and feeds; required off loopback"
    )

    @field_validator("down_after", "max_backoff", "shutdown_grace", "lease", "config_poll", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> float:
        return parse_duration(value)

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        from monitor.health import parse_listen

        parse_listen(value)
        return value


class TopLevel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: str | None = Field(None, description="database URL: sqlite:///path or postgresql://...")
    defaults: Defaults = Field(default_factory=Defaults)
    http: HttpConfig = Field(default_factory=HttpConfig)
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    daemon: DaemonConfig = Field(default_factory=DaemonConfig)
    previews: PreviewsConfig = Field(default_factory=PreviewsConfig)
    # each entry is checked by its own plugin's model, so one bad entry hides no other
    notifiers: dict[str, Any] = Field(default_factory=dict)
    watches: list[Any] = Field(default_factory=list)


@dataclass
class Config:
    """A loaded, validated configuration. Watches have `every` and `notify` resolved from the defaults."""

    path: Path | None
    state_url: str
    defaults: Defaults
    http: HttpSettings
    delivery: DeliveryConfig
    daemon: DaemonConfig
    notifiers: dict[str, Any]  # name -> notifier config model
    watches: list[WatchConfig]
    secrets: set[str] = field(default_factory=set)  # substituted values to mask in any output
    # watches the monitor created at run time (an appeal of a followed case), joined to `watches` by
    # `monitor.autowatch.join`: watch id -> where it came from (monitor.store.moves.AutoWatch)
    auto: dict[str, Any] = field(default_factory=dict)
    previews: PreviewsConfig = field(default_factory=PreviewsConfig)

    def watch(self, watch_id: str) -> WatchConfig:
        for watch in self.watches:
            if watch.id == watch_id:
                return watch
        raise KeyError(watch_id)


# ---------------------------------------------------------------- locations


def _line_map(text: str) -> dict[tuple, int]:
    """YAML key path -> line number (1-based), for error messages."""
    lines: dict[tuple, int] = {}

    def walk(node: yaml.Node, path: tuple) -> None:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*path, key.value)
                lines[sub] = key.start_mark.line + 1
                walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for index, value in enumerate(node.value):
                walk(value, (*path, index))

    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, ())
    return lines


def unknown_key(key: Any, allowed: Iterable[str]) -> str:
    """ "unknown key 'defualts'; did you mean 'defaults'? allowed keys here: ..." (the guess when one is close)."""
    names = sorted(allowed)
    close = difflib.get_close_matches(str(key).lower(), names, n=1, cutoff=0.6)
    guess = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key {key!r}; {guess}allowed keys here: {', '.join(names)}"


def _dotted(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _model_at(model: type[BaseModel], path: tuple) -> type[BaseModel]:
    """The model of the mapping at `path` inside `model` (a nested section such as a watch's `budget`), so that
    an unknown key there lists that section's keys."""
    for part in path:
        if isinstance(part, int):
            continue
        field_info = model.model_fields.get(part)
        if field_info is None:
            return model
        nested = [
            t
            for t in (field_info.annotation, *getattr(field_info.annotation, "__args__", ()))
            if isinstance(t, type) and issubclass(t, BaseModel)
        ]
        if not nested:
            return model
        model = nested[0]
    return model


class _Problems:
    """Problems, each with file:line. The line map is built at the first problem: composing the YAML
    again costs as much as loading it, and a valid file never needs it."""

    def __init__(self, source: str, text: str):
        self.source, self.text = source, text
        self.items: list[str] = []
        self._lines: dict[tuple, int] | None = None

    @property
    def lines(self) -> dict[tuple, int]:
        if self._lines is None:
            self._lines = _line_map(self.text)
        return self._lines

    def add(self, path: tuple, message: str) -> None:
        probe = path
        while probe and probe not in self.lines:
            probe = probe[:-1]
        line = self.lines.get(probe)
        where = f"{self.source}:{line}" if line else self.source
        self.items.append(f"{where}: {_dotted(path)}: {message}")

    def add_validation(
        self, base: tuple, error: ValidationError, model: type[BaseModel], *, written: Any = None
    ) -> None:
        """Each error of `error` (raised by `model` for the value at `base`); `written` reports the first
        key of each error's path as the file spells it (a misspelt section checked as the one meant)."""
        for err in error.errors():
            inner = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            loc = base + ((written, *inner[1:]) if written is not None and inner else inner)
            if err["type"] == "extra_forbidden":
                self.add(loc, unknown_key(loc[-1], _model_at(model, inner[:-1]).model_fields))
            elif err["type"] == "missing":
                self.add(loc, "required key is missing")
            else:
                msg = err["msg"].removeprefix("Value error, ")
                self.add(loc, msg)


# ---------------------------------------------------------------- environment


def _substitute(value: Any, path: tuple, env: Mapping[str, str], problems: _Problems, secrets: set[str]) -> Any:
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                secrets.add(env[name]) if env[name] else None
                return env[name]
            if default is not None:
                return default
            problems.add(path, f"environment variable {name} is not set (export it, or put it in the env file)")
            return ""

        return _ENV_REF.sub(replace, value)
    if isinstance(value, dict):
        return {k: _substitute(v, (*path, k), env, problems, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, (*path, i), env, problems, secrets) for i, v in enumerate(value)]
    return value


# ---------------------------------------------------------------- loading


def _plugin_config(data: Any, where: tuple, registry: Mapping[str, Any], what: str, problems: _Problems) -> Any:
    """Validate one watch or notifier with the config model its own plugin declares; None if invalid."""
    if not isinstance(data, dict):
        problems.add(where, "expected a mapping with a `type` key")
        return None
    kind = data.get("type")
    plugin = registry.get(kind) if isinstance(kind, str) else None  # `type: [feed]` is unknown, not a crash
    if plugin is None:
        problems.add((*where, "type"), f"unknown {what} type {kind!r}; known types: {', '.join(sorted(registry))}")
        return None
    try:
        return plugin.Config.model_validate(data)
    except ValidationError as exc:
        problems.add_validation(where, exc, plugin.Config)
        return None


def _top_level(raw: dict[Any, Any], problems: _Problems) -> TopLevel:
    """The top level, each key validated on its own: an unknown or invalid key is reported and left at its
    default, so the watches and notifiers are still checked and every problem comes back in one run."""
    usable: dict[str, Any] = {}
    for key, value in raw.items():
        meant = key
        if key not in TopLevel.model_fields:
            problems.add((key,), unknown_key(key, TopLevel.model_fields))
            # A misspelt section (`defualts:`) is still checked as the one it resembles, so its own
            # problems come out now rather than after the spelling is fixed.
            close = difflib.get_close_matches(str(key).lower(), list(TopLevel.model_fields), n=1, cutoff=0.6)
            if not close or close[0] in raw:
                continue
            meant = close[0]
        try:
            TopLevel.model_validate({meant: value})
        except ValidationError as exc:
            problems.add_validation((), exc, TopLevel, written=key)
            continue
        if meant == key:
            usable[key] = value
    return TopLevel.model_validate(usable)


def _secret_values(model: BaseModel) -> set[str]:
    """Values of SecretStr fields, also inside lists and mappings (a token that came from a default, not
    from ${VAR}), and what a model's own `secret_values()` names (an Apprise URL's private parts): masked too."""
    from pydantic import SecretStr

    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            if value.get_secret_value():
                found.add(value.get_secret_value())
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    for name in type(model).model_fields:
        walk(getattr(model, name, None))
    own = getattr(model, "secret_values", None)
    if callable(own):
        found.update(own())
    return found


def _check_notifier_names(names: list[str], where: tuple, known: Mapping[str, Any], problems: _Problems) -> None:
    for name in names:
        if name not in known:
            listed = ", ".join(sorted(known)) or "none are configured"
            problems.add(where, f"no notifier named {name!r} (known: {listed})")


def resolve_path(path: str | os.PathLike | None) -> Path:
    if path:
        return Path(path)
    if os.environ.get("MONITOR_CONFIG"):
        return Path(os.environ["MONITOR_CONFIG"])
    return DEFAULT_CONFIG


def _compact(raw: Any) -> Any:
    """The parsed data copied into fresh objects once the YAML parser's node tree is gone.

    The parser allocates every string of the file between its own nodes and position marks; the config
    keeps the strings and the nodes are freed, leaving memory the allocator cannot hand back (at 10,000
    watches, 70 MiB resident for 20 MiB of live objects). Copied afresh, the live data sits together and
    the parser's memory is released: half the resident size. marshal copies every type safe YAML
    yields except timestamps; a file with one of those keeps the data as parsed.
    """
    try:
        return marshal.loads(marshal.dumps(raw))
    except ValueError:
        return raw


def load(path: str | os.PathLike | None = None, *, env: Mapping[str, str] | None = None) -> Config:
    """Load and validate; raises ConfigError listing every problem with file, line and key path."""
    config_path = resolve_path(path)
    try:
        text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{config_path}: no such configuration file (pass --config PATH or set MONITOR_CONFIG)"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{config_path}: cannot read the configuration: {exc.strerror}") from exc
    return loads(text, source=str(config_path), env=env, path=config_path)


def loads(
    text: str, *, source: str = "<config>", env: Mapping[str, str] | None = None, path: Path | None = None
) -> Config:
    from notifiers import NOTIFIERS
    from watchers import WATCHERS

    env = os.environ if env is None else env
    try:
        raw = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        place = f"{source}:{mark.line + 1}" if mark else source
        raise ConfigError(f"{place}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if raw is None:
        raw = {}
    raw = _compact(raw)
    problems = _Problems(source, text)
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the configuration must be a mapping with keys like `watches:` and `notifiers:`")
    secrets: set[str] = set()
    raw = _substitute(raw, (), env, problems, secrets)

    top = _top_level(raw, problems)

    # notifiers; with none configured, alerts go to the terminal
    if not top.notifiers:
        top.notifiers = {"console": {"type": "console"}}
    if top.defaults.notify is None:
        top.defaults.notify = list(top.notifiers)
    notifiers: dict[str, Any] = {}
    for name, data in top.notifiers.items():
        model = _plugin_config(data, ("notifiers", name), NOTIFIERS, "notifier", problems)
        if model is not None:
            notifiers[name] = model

    # watches; a cron schedule runs in the watch's time zone, else the default one
    top.defaults.every = top.defaults.every.in_zone(top.defaults.timezone)
    watches: list[WatchConfig] = []
    seen: dict[str, int] = {}
    for index, data in enumerate(top.watches):
        where = ("watches", index)
        raw_id = data.get("id") if isinstance(data, dict) else None
        if isinstance(raw_id, str):
            if raw_id in seen:
                problems.add((*where, "id"), f"duplicate watch id {raw_id!r} (also watches[{seen[raw_id]}])")
            seen.setdefault(raw_id, index)
        watch = _plugin_config(data, where, WATCHERS, "watch", problems)
        if watch is None:
            continue
        if not WATCH_ID.match(watch.id):
            problems.add((*where, "id"), f"{watch.id!r} is not a usable id: use letters, digits, '.', '_' and '-'")
        zone = watch.timezone or top.defaults.timezone
        update: dict[str, Any] = {"timezone": zone, "every": (watch.every or top.defaults.every).in_zone(zone)}
        if watch.notify is None:
            update["notify"] = list(top.defaults.notify)
        watch = watch.model_copy(update=update)
        _check_notifier_names(watch.notify or [], (*where, "notify"), top.notifiers, problems)
        watches.append(watch)
    _check_notifier_names(top.defaults.notify, ("defaults", "notify"), top.notifiers, problems)

    top.daemon.dashboard_auth = _dashboard_auth(top.daemon.dashboard_auth, env, problems, secrets)
    if problems.items:
        raise ConfigError([mask(p, secrets) for p in problems.items])  # a bad value may hold a ${VAR}'s value
    for model in [*watches, *notifiers.values()]:
        secrets.update(_secret_values(model))
    state = os.environ.get("MONITOR_STATE") if env is os.environ else env.get("MONITOR_STATE")
    return Config(
        path=path,
        state_url=state or top.state or DEFAULT_STATE,
        defaults=top.defaults,
        http=top.http.settings(),
        delivery=top.delivery,
        daemon=top.daemon,
        notifiers=notifiers,
        watches=watches,
        secrets=secrets,
        previews=top.previews,
    )


def _dashboard_auth(
    auth: DashboardAuth | None, env: Mapping[str, str], problems: _Problems, secrets: set[str]
) -> DashboardAuth | None:
    """The dashboard's token, with `token_env` (or, without the key, $MONITOR_DASHBOARD_TOKEN) read from the
    environment; the token joins the secrets that are masked everywhere."""
    where = ("daemon", "dashboard_auth")
    if auth is None:
        value = env.get(DASHBOARD_TOKEN_ENV) or ""
        if not value:
            return None
        auth = DashboardAuth(token_env=DASHBOARD_TOKEN_ENV)
    if auth.token_env is not None:
        value = env.get(auth.token_env) or ""
        if not value:
            problems.add(
                (*where, "token_env"),
                f"environment variable {auth.token_env} is not set (export it, or put it in the env file)",
            )
            return None
        try:
            _check_token(value)
        except ValueError as exc:
            problems.add(where, f"{auth.token_env}: {exc}")
            return None
        auth = auth.model_copy(update={"token": SecretStr(value), "token_env": None})
    secrets.add(auth.secret())
    return auth


def mask(text: str, secrets: set[str]) -> str:
    """Replace every secret value in `text` with ***, for anything printed or logged."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return text
