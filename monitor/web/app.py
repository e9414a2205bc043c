"""The daemon's web face as one Starlette (ASGI) app: the probes, and the dashboard and feeds beside them.

| path | what |
|---|---|
| `/healthz` (`/livez`), `/readyz`, `/metrics` | the probes and Prometheus metrics, unchanged (see `monitor.health`) |
| `/` | every followed case and agency, each source's health, the CourtListener budget; what needs attention first |
| `/cases/<id>` | one case's timeline, newest first (`?since=2025-02-01`, `?page=2`) |
| `/watches` | every watch: last and next check, failures, last error, items |
| `/deliveries` | the outbox: pending and failed deliveries |
| `/previews/<sha256>.png` | a document preview's first page (`Store.preview_image`), as a case page shows it |
| `/feeds/all.atom`, `/feeds/cases/<id>.atom`, `/feeds/watches/<id>.atom` | Atom feeds |

Read-only: only GET and HEAD. Every database read, and the rendering that follows it, runs in a worker
thread (`asyncio.to_thread`), so a slow database or a 1,000-row page never holds up the daemon's
checks. Responses carry a Content-Security-Policy that allows no script at all.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route, Router
from starlette.staticfiles import StaticFiles

from monitor.health import Endpoints
from monitor.web import atom, pages, render
from monitor.web.access import Access, Gate, is_loopback
from monitor.web.cases import case_id

log = logging.getLogger(__name__)

HTML = "text/html; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
PNG = "image/png"


def probe_routes(endpoints: Endpoints) -> list[Route]:
    text = "text/plain; charset=utf-8"

    async def live(_request: Request) -> Response:
        ok, why = await endpoints.live()
        return PlainTextResponse(f"{why}\n", 200 if ok else 503, headers={"Cache-Control": "no-store"})

    async def ready(_request: Request) -> Response:
        ok, why = await endpoints.ready()
        return PlainTextResponse(f"{why}\n", 200 if ok else 503, headers={"Cache-Control": "no-store"})

    async def metrics(_request: Request) -> Response:
        if endpoints.metrics is None:
            raise HTTPException(404)
        # the exact content type Prometheus expects (a media_type would get "; charset" appended)
        return Response(
            endpoints.metrics(),
            headers={"Content-Type": endpoints.metrics_content_type or text, "Cache-Control": "no-store"},
        )

    return [Route("/healthz", live), Route("/livez", live), Route("/readyz", ready), Route("/metrics", metrics)]


class DashboardPages:
    """The dashboard's request handlers; every one reads and renders in a worker thread."""

    def __init__(self, dashboard: pages.Dashboard):
        self.dashboard = dashboard

    def access(self, listen: str = "") -> Access:
        auth = self.dashboard.config().daemon.dashboard_auth
        return Access(
            auth.secret() if auth else None, auth.username if auth else None, bool(self.dashboard.exposed), listen
        )

    def secrets(self) -> set[str]:
        return self.dashboard.secrets() | set(self.dashboard.config().secrets)

    def routes(self) -> list[Route]:
        return [
            Route("/", self.overview),
            Route("/cases/{case_id}", self.case),
            Route("/watches", self.watches),
            Route("/deliveries", self.deliveries),
            Route("/previews/{image}.png", self.preview_image),
            Route("/feeds/all.atom", self.feed_all),
            Route("/feeds/cases/{case_id}.atom", self.feed_case),
            Route("/feeds/watches/{watch_id}.atom", self.feed_watch),
        ]

    # ------------------------------------------------------------ plumbing

    async def _respond(self, build: Callable[[], tuple[int, str | bytes, str]]) -> Response:
        """Run `build` (reads and renders) off the event loop; scrub secrets; add the security headers."""
        try:
            status, body, media_type = await asyncio.to_thread(build)
        except Exception as exc:
            from sqlalchemy.exc import SQLAlchemyError

            log.exception("dashboard page %s failed", getattr(build, "__qualname__", ""))
            first = (str(getattr(exc, "orig", None) or exc).splitlines() or [type(exc).__name__])[0]
            if isinstance(exc, SQLAlchemyError):
                status, message = 503, f"The state database did not answer: {first}"
            else:
                status, message = (
                    500,
                    (
                        f"The dashboard failed to build this page ({type(exc).__name__}); "
                        "the daemon's log has the details."
                    ),
                )
            body, media_type = (
                render.page("error.html", status=status, title="The page could not be built", message=message),
                HTML,
            )
        text = body.decode() if isinstance(body, bytes) else body
        return Response(
            render.scrub(text, self.secrets()), status, headers=render.SECURITY_HEADERS, media_type=media_type
        )

    @staticmethod
    def _not_found(title: str, message: str) -> tuple[int, str, str]:
        return 404, render.page("error.html", status=404, title=title, message=message), HTML

    # ------------------------------------------------------------ pages

    async def overview(self, request: Request) -> Response:
        def build() -> tuple[int, str, str]:
            return 200, render.page("overview.html", **pages.overview_page(self.dashboard), active="overview"), HTML

        return await self._respond(build)

    async def case(self, request: Request) -> Response:
        wanted = request.path_params["case_id"]
        since = request.query_params.get("since", "").strip()
        page = request.query_params.get("page", "1")
        problem = None
        if since and not _DAY.match(since):
            problem, since = f"“since” must be a date like 2025-02-01, not {since!r}: showing every entry", ""
        page_number = int(page) if page.isdigit() else 1

        def build() -> tuple[int, str, str]:
            data = pages.case_page(self.dashboard, wanted, since=since or None, page=page_number)
            if data is None:
                return self._not_found(
                    "No such case",
                    f"No followed case has the id {wanted!r}. The overview lists every case this monitor follows.",
                )
            return 200, render.page("case.html", **data, problem=problem, active="cases"), HTML

        return await self._respond(build)

    async def watches(self, request: Request) -> Response:
        def build() -> tuple[int, str, str]:
            return 200, render.page("watches.html", **pages.watches_page(self.dashboard), active="watches"), HTML

        return await self._respond(build)

    async def deliveries(self, request: Request) -> Response:
        def build() -> tuple[int, str, str]:
            return (
                200,
                render.page("deliveries.html", **pages.deliveries_page(self.dashboard), active="deliveries"),
                HTML,
            )

        return await self._respond(build)

    async def preview_image(self, request: Request) -> Response:
        """A document preview's first page, by the sha256 the preview recorded; 404 once pruned (`previews.keep`)."""
        image = request.path_params["image"]
        png = None
        if _SHA256.match(image):
            try:
                png = await asyncio.to_thread(self.dashboard.store.preview_image, f"sha256:{image}")
            except Exception:
                log.warning("dashboard: the preview picture %s could not be read", image, exc_info=True)
        if png is None:
            return Response(b"", 404, headers=render.SECURITY_HEADERS, media_type="text/plain")
        # content-addressed, so it never changes; still not kept in shared caches (it is behind the token)
        return Response(
            png, 200, headers={**render.SECURITY_HEADERS, "Cache-Control": "private, max-age=86400"}, media_type=PNG
        )

    # ------------------------------------------------------------ feeds

    def _feed(
        self, request: Request, *, name: str, title: str, page_url: str, entries: list, entry_url: Callable[[Any], str]
    ) -> tuple[int, bytes, str]:
        config = self.dashboard.config()
        body = atom.render(
            name=name,
            title=title,
            self_url=str(request.url.replace(query="")),
            page_url=page_url,
            entries=entries,
            watch_names={w.id: w.display_name() for w in config.watches},
            entry_url=entry_url,
            now=self.dashboard.clock(),
        )
        return 200, body, ATOM

    def _entry_url(self, request: Request) -> Callable[[Any], str]:
        """An entry's place on the dashboard: its case page anchor, else the watch list."""
        base = str(request.base_url).rstrip("/")

        def url(entry: Any) -> str:
            fields = entry.item.fields
            if entry.is_docket_entry and fields.get("court") and fields.get("docket_number"):
                return f"{base}/cases/{case_id(fields['court'], fields['docket_number'])}#{entry.anchor}"
            return f"{base}/watches"

        return url

    async def feed_all(self, request: Request) -> Response:
        def build() -> tuple[int, bytes, str]:
            return self._feed(
                request,
                name="all",
                title="Court-filing monitor: everything",
                page_url=str(request.base_url),
                entries=pages.feed_entries(self.dashboard, None),
                entry_url=self._entry_url(request),
            )

        return await self._respond(build)

    async def feed_case(self, request: Request) -> Response:
        wanted = request.path_params["case_id"]

        def build() -> tuple[int, bytes | str, str]:
            case = pages.find_case(self.dashboard, wanted)
            if case is None:
                return self._not_found("No such case", f"No followed case has the id {wanted!r}.")
            found = pages.case_timeline(self.dashboard, case)
            entries = pages.read_entries(self.dashboard, [line.key for line in found.lines[: pages.FEED_SIZE]])
            name = next(
                (
                    str(e.item.fields["case_name"])
                    for e in ([found.record] if found.record else []) + entries
                    if e.item.fields.get("case_name")
                ),
                case.docket,
            )
            # the press releases that name the case, in date order among its filings
            related = pages.related_entries(self.dashboard, case)
            page_url = f"{str(request.base_url).rstrip('/')}/cases/{case.id}"
            on_page = {e.key for e in related}
            entry_url = self._entry_url(request)
            merged = sorted(entries + related, key=lambda e: e.sort_key(), reverse=True)[: pages.FEED_SIZE]
            return self._feed(
                request,
                name=f"case:{case.court}:{case.docket}",
                title=f"{name} ({case.docket}, {case.court})",
                page_url=page_url,
                entries=merged,
                entry_url=lambda e: f"{page_url}#{e.anchor}" if e.key in on_page else entry_url(e),
            )

        return await self._respond(build)

    async def feed_watch(self, request: Request) -> Response:
        watch_id = request.path_params["watch_id"]

        def build() -> tuple[int, bytes | str, str]:
            watch = next((w for w in self.dashboard.config().watches if w.id == watch_id), None)
            if watch is None:
                return self._not_found("No such watch", f"No watch has the id {watch_id!r}; /watches lists them.")
            return self._feed(
                request,
                name=f"watch:{watch.id}",
                title=f"{watch.display_name()} ({watch.type})",
                page_url=f"{str(request.base_url).rstrip('/')}/watches",
                entries=pages.feed_entries(self.dashboard, [watch.id]),
                entry_url=self._entry_url(request),
            )

        return await self._respond(build)


def build_app(endpoints: Endpoints, dashboard: pages.Dashboard | None = None, *, listen: str = "") -> Starlette:
    """The probes, and with a `dashboard` the pages and feeds behind the access gate."""
    routes: list[Any] = probe_routes(endpoints)
    handlers = DashboardPages(dashboard) if dashboard is not None else None
    if handlers is not None:
        routes.append(Mount("/static", StaticFiles(directory=render.STATIC), name="static"))
        routes.append(Mount("", app=Gate(Router(handlers.routes()), lambda: handlers.access(listen))))

    async def not_found(request: Request, _exc: Exception) -> Response:
        if handlers is None:
            return PlainTextResponse("not found: try /healthz, /readyz or /metrics\n", 404)
        return Response(
            render.page(
                "error.html",
                status=404,
                title="Not found",
                message=f"Nothing is at {request.url.path}. The overview links to every page.",
            ),
            404,
            headers=render.SECURITY_HEADERS,
            media_type=HTML,
        )

    return Starlette(routes=routes, exception_handlers={404: not_found})


__all__ = ["build_app", "is_loopback"]
