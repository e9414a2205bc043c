"""The `previews:` block of the configuration (see `monitor.previews` for what it drives)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from monitor.schedule import parse_duration

# RECAP's storage: CourtListener's copies of PDFs that someone already bought from PACER, free to all.
RECAP_STORAGE = "storage.courtlistener.com"
# PACER charges per page (and needs a login): no preview ever fetches from it.
_PAID = ("uscourts.gov", "pacer.gov")


class PreviewsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="fetch free PDFs of new filings and send a preview after the alert")
    max_bytes: int = Field(20 * 1024 * 1024, gt=0, description="largest PDF downloaded; accepts 20MB etc.")
    max_pages: int = Field(2, ge=1, le=20, description="pages whose text makes the excerpt")
    timeout: float = Field(20.0, gt=0, le=600, description="seconds to read one PDF; longer and it is skipped")
    hosts: tuple[str, ...] = Field(
        (RECAP_STORAGE,), min_length=1, description="hosts whose PDFs are free to fetch (RECAP storage)"
    )
    keep: float = Field(30 * 86400.0, gt=0, description="how long thumbnails are kept in the state database")

    @field_validator("max_bytes", mode="before")
    @classmethod
    def _size(cls, value: Any) -> int:
        from monitor.config import parse_size

        return parse_size(value)

    @field_validator("timeout", "keep", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> float:
        return parse_duration(value)

    @field_validator("hosts", mode="before")
    @classmethod
    def _hosts(cls, value: Any) -> Any:
        values = [value] if isinstance(value, str) else list(value or [])
        out = []
        for host in values:
            host = str(host).strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")
            if not host or "/" in host or any(c.isspace() for c in host):
                raise ValueError(f"{host!r} is not a host name; write it like {RECAP_STORAGE}")
            name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
            if any(name == paid or name.endswith("." + paid) for paid in _PAID):
                raise ValueError(
                    f"{host}: PACER charges for every document page and needs a login; previews only "
                    f"fetch free copies, such as RECAP's ({RECAP_STORAGE})"
                )
            out.append(host)
        return tuple(out)
