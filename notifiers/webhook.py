"""`webhook`: POST each change as JSON to a URL of yours (a chat bridge, a CMS, a queue, a script).

Keys:
- `url` (required): where to POST (http or https). Redirects are not followed: give the final URL.
- `headers` (optional): extra request headers, e.g. `Authorization: "Bearer ${ALERT_HOOK_TOKEN}"`;
  values may come from the environment and are never logged or printed.
- `timeout` (default 30): seconds for one request.
- `previews` (default true): also POST document previews (`monitor.previews`): after the alert about a
  filing whose PDF is free, an `updated` change of that entry whose `changed` fields are
  `preview_pages`, `preview_excerpt` (the first ~500 characters of text), `preview_url` (the free PDF)
  and `preview_thumbnail` (a reference to the thumbnail in the monitor's database); `false` opts out.

Each change is one request, with `Content-Type: application/json` and
`Idempotency-Key: <change uid>:<notifier name>`, the same on every retry and after a restart: a
receiver that remembers keys it has seen never acts on an alert twice. The body is the change as
`monitor history --json` shows it (`uid`, `watch`, `kind`, `key`, `detected_at`, `item` with its
`fields`, and for an update `before` and `changed` with each field's before and after), plus
`watch_name`, `notifier`, `idempotency_key`, and `message` (`subject` and `text`: the alert as the
email notifier words it, ready to forward).

Answers: any 2xx is delivered. 429 and 5xx are temporary: the outbox retries with backoff, and never
sooner than a `Retry-After` header asks. A timeout or connection failure is temporary too. A 3xx or any
other 4xx fails the delivery at once with the status (fix the URL or the receiver, then `monitor retry`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx
from pydantic import Field, SecretStr, field_validator

from monitor import __version__
from monitor.errors import NotifyError
from monitor.http import parse_retry_after
from notifiers.base import Alert, Notifier, NotifierConfig
from notifiers.format import describe, plain_text

log = logging.getLogger(__name__)


class WebhookConfig(NotifierConfig):
    url: str = Field(description="where to POST")
    headers: dict[str, SecretStr] = Field(default_factory=dict, description="extra headers; values may be secrets")
    timeout: float = Field(30.0, gt=0, le=300)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parsed = httpx.URL(value)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError("url must be an http(s) URL, like https://hooks.example.org/court-alerts")
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for name, secret in value.items():
            if not name or any(c in name for c in ":\r\n ") or any(c in secret.get_secret_value() for c in "\r\n"):
                raise ValueError(f"header {name!r}: names may not contain ':' or spaces, values no line breaks")
        return value


def payload(alert: Alert, delivery_index: int = 0) -> dict[str, Any]:
    """The JSON body for one delivery of an alert."""
    delivery = alert.deliveries[delivery_index]
    change = delivery.change
    watch_name = alert.name_of(change.watch_id)
    content = describe(change, watch_name)
    return {
        **change.to_dict(),
        "watch_name": watch_name,
        "notifier": alert.notifier,
        "idempotency_key": delivery.idempotency_key,
        "message": {"subject": content.headline, "text": plain_text(content)},
    }


class WebhookNotifier(Notifier):
    kind: ClassVar[str] = "webhook"
    Config: ClassVar[type[NotifierConfig]] = WebhookConfig

    def __init__(self, name: str, config: NotifierConfig, services: Any = None):
        super().__init__(name, config, services)
        self.cfg: WebhookConfig = config  # type: ignore[assignment]
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        # Created on first use, inside the running event loop; redirects are not followed (a POST
        # redirected to another host could carry the alert and the headers somewhere unintended).
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.cfg.timeout,
                follow_redirects=False,
                headers={"User-Agent": f"court-filing-monitor/{__version__}"},
            )
        return self._client

    async def send(self, alert: Alert) -> Mapping[str, Any] | None:
        status = 0
        for index, delivery in enumerate(alert.deliveries):
            status = await self._post(payload(alert, index), delivery.idempotency_key)
        return {"status": status}

    async def send_test(self) -> None:
        body = {
            "test": True,
            "notifier": self.name,
            "message": {
                "subject": "Test message from the court-filing monitor",
                "text": f"Test message from the court-filing monitor (notifier {self.name!r}).",
            },
        }
        await self._post(body, f"test:{self.name}")

    async def _post(self, body: Mapping[str, Any], key: str) -> int:
        where = f"webhook notifier {self.name!r}"
        headers = {name: secret.get_secret_value() for name, secret in self.cfg.headers.items()}
        headers.update({"Content-Type": "application/json", "Idempotency-Key": key})
        data = json.dumps(body, ensure_ascii=False, default=str).encode()
        try:
            response = await self._http().post(self.cfg.url, content=data, headers=headers)
        except httpx.TimeoutException as exc:
            raise NotifyError(
                f"{where}: no answer from {_origin(self.cfg.url)} within {self.cfg.timeout:g}s ({type(exc).__name__})"
            ) from None
        except httpx.HTTPError as exc:
            raise NotifyError(
                f"{where}: could not reach {_origin(self.cfg.url)}: {type(exc).__name__}: {exc}"
            ) from None
        status = response.status_code
        if 200 <= status < 300:
            return status
        detail = " ".join(response.text[:200].split())
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            raise NotifyError(
                f"{where}: the receiver answered HTTP {status}{': ' + detail if detail else ''}; will retry",
                retry_after=retry_after,
            )
        if 300 <= status < 400:
            raise NotifyError(
                f"{where}: the receiver answered a redirect (HTTP {status}) to "
                f"{response.headers.get('location', '?')}; set url to the final address",
                permanent=True,
            )
        raise NotifyError(
            f"{where}: the receiver refused the alert with HTTP {status}"
            f"{': ' + detail if detail else ''}; check url and headers",
            permanent=True,
        )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _origin(url: str) -> str:
    """Scheme, host and port only: a secret in the URL's path or query never reaches a message."""
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.netloc.decode()}"
