"""Document previews end to end: `monitor check` with a local CourtListener, a server playing RECAP's
storage, the Slack Web API server and an SMTP server, all on 127.0.0.1. The alert goes first; the
preview follows as an update of the same entry (Slack: the thumbnail uploaded into the case's thread;
email: the thumbnail inline); a hostile PDF is a warning, never a failed check; previews never spend
the CourtListener API budget and never send its token anywhere."""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.config import loads
from monitor.models import Change
from monitor.previews import worker as preview_worker
from monitor.store import Store, schema
from tests.conftest import DATA, run_cli
from tests.notifiers import SLACK_TOKEN
from tests.support import pdfs
from tests.support.courtlistener_server import TOKEN, CourtListenerServer
from tests.support.http_server import ReplayServer, Route
from tests.support.slack_server import Answer, SlackServer
from tests.support.smtp_server import SmtpServer
from tests.watchers.test_courtlistener import (
    DCD_RSS,
    ENTRY_140_RSS,
    RECORDED_ID,
    RECORDED_KEY,
    SF_V_TRUMP,
    recorded,
    stub_entry,
)

ORDER = (DATA / "previews" / "minute_order_dcd_1-20-cv-03010_2021-08-19.pdf").read_bytes()
DOCKET = 900001350
KEY = "entry:cand:3:25-cv-01350:2"
RECAP_PATH = "/recap/gov.uscourts.cand.0/gov.uscourts.cand.0.2.0.pdf"


@pytest.fixture
def env(monkeypatch) -> None:
    monkeypatch.setenv("COURTLISTENER_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_BOT_TOKEN", SLACK_TOKEN)


def case_config(
    write_config,
    cl: CourtListenerServer,
    storage: ReplayServer,
    slack: SlackServer | None = None,
    smtp: SmtpServer | None = None,
    *,
    previews: str = "",
    notifiers: str = "",
    watches: str = "",
) -> Path:
    """SF v. Trump followed through the local CourtListener; RECAP storage is the local replay server."""
    lines = []
    if slack:
        lines.append(
            f'  newsroom: {{type: slack, token: "${{SLACK_BOT_TOKEN}}", channel: "#sanctuary-cases", '
            f'base_url: "{slack.base_url}"}}'
        )
    if smtp:
        lines.append(
            f"  counsel: {{type: email, host: 127.0.0.1, port: {smtp.port}, from: alerts@example.org, "
            "to: [litigation@example.org]}"
        )
    if notifiers:
        lines.append(notifiers)
    return write_config(f"""
previews: {{hosts: ["127.0.0.1:{storage.port}"]{", " + previews if previews else ""}}}
notifiers:
{chr(10).join(lines)}
watches:
  - id: sf
    name: SF v. Trump
    type: courtlistener
    base_url: {cl.base_url}
    court: cand
    docket_number: "3:25-cv-01350"
    per_minute: 0                     # the tests check often; the daily budget still counts every call
{watches}""")


def check(path: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    result = run_cli("check", "--config", str(path), "--json", *extra)
    assert not re.search(r'File ".*/(monitor|watchers|notifiers)/', result.err), result.err  # no crash in our code
    return result.code, json.loads(result.out), result.err


def file_entry(cl: CourtListenerServer, number: int, url: str | None, short: str = "Order granting motion") -> None:
    """A new entry on CourtListener whose main document is the PDF at `url` (RECAP has it: free)."""
    entry = stub_entry(
        number, short, description=f"ORDER granting motion. Signed by Judge William H. Orrick. ({number})"
    )
    doc = entry["recap_documents"][0]
    entry["recap_documents"] = [{**doc, "is_available": bool(url), "filepath_local": url}]
    cl.add_entry(DOCKET, entry)


def baseline(cl: CourtListenerServer, path: Path) -> None:
    cl.add_docket(**SF_V_TRUMP)
    cl.add_entry(DOCKET, stub_entry(1, "Complaint", date="2025-02-07"))
    code, report, _ = check(path)
    assert code == 0 and report["watches"][0]["baseline"], report


def new_filing_checked(
    cl, server, write_config, *, previews: str = "", short: str = "Order granting motion", body: bytes = ORDER
) -> tuple[int, dict[str, Any], Path]:
    """The court order served as entry 2's RECAP copy, alerts to the terminal: baseline, new filing, check."""
    server.set(RECAP_PATH, body, content_type="application/pdf")
    path = case_config(write_config, cl, server, previews=previews, notifiers="  terminal: {type: console}")
    baseline(cl, path)
    file_entry(cl, 2, server.url(RECAP_PATH), short=short)
    code, report, _ = check(path)
    return code, report, path


def changes(report: dict[str, Any]) -> list[dict[str, Any]]:
    return report["watches"][0]["changes"]


def previews_of(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in changes(report) if "fields.preview_pages" in (c.get("changed") or {})]


def open_store(path: Path) -> Store:
    return Store.open(loads(path.read_text()).state_url)


# ---------------------------------------------------------------- the real small PDF


def test_a_free_pdf_is_previewed_after_the_alert_in_slack_and_email(cl, server, slack, smtp, env, write_config):
    """A new filing with a RECAP PDF: the alert goes out first; then its preview: in Slack the first page
    uploaded into the case's thread with the excerpt, by email the first page inline; in the JSON report
    the page count and excerpt on the change."""
    server.set(RECAP_PATH, ORDER, content_type="application/pdf")
    path = case_config(write_config, cl, server, slack, smtp)
    baseline(cl, path)

    file_entry(cl, 2, server.url(RECAP_PATH))
    code, report, _err = check(path)
    assert code == 0, report
    [alert, preview] = changes(report)
    assert (alert["kind"], preview["kind"]) == ("added", "updated") and alert["key"] == preview["key"] == KEY
    fields = preview["item"]["fields"]
    assert fields["preview_pages"] == 2
    assert fields["preview_excerpt"].startswith("UNITED STATES DISTRICT COURT FOR THE DISTRICT OF COLUMBIA")
    assert len(fields["preview_excerpt"]) <= 500 and fields["preview_url"] == server.url(RECAP_PATH)
    assert set(preview["changed"]) == {
        "fields.preview_pages",
        "fields.preview_excerpt",
        "fields.preview_thumbnail",
        "fields.preview_url",
    }
    assert report["deliveries"]["sent"] == 4  # the alert and the preview, to Slack and by email

    # Slack: the alert starts the case's thread; the thumbnail is uploaded into it, after it
    [post, upload] = slack.messages
    assert "New filing #2 in City and County of San Francisco v. Trump" in post.text and not post.files
    assert upload.thread_ts == post.ts and upload.channel == "C0SANCTUARY" and upload.at > post.at
    [image] = upload.files
    store = open_store(path)
    try:
        assert image.data == store.preview_image(fields["preview_thumbnail"]) and image.data[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        store.close()
    assert image.filename.endswith("-page-1.png") and "First page of filing #2" in (image.alt_txt or "")
    assert "Preview of filing #2 in City and County of San Francisco v. Trump (2 pages)" in upload.text
    assert "&gt; " not in upload.text and "> UNITED STATES DISTRICT COURT" in upload.text
    assert f"<{server.url(RECAP_PATH)}|Free PDF (RECAP)>" in upload.text
    methods = [r.method for r in slack.requests]
    assert methods == ["chat.postMessage", "files.getUploadURLExternal", "upload", "files.completeUploadExternal"]

    # email: the alert, then the preview with the first page inline (multipart/related, cid:)
    [first, second] = smtp.messages
    assert first.message["Subject"] == "New filing #2 in City and County of San Francisco v. Trump"
    assert second.message["Subject"] == "Preview of filing #2 in City and County of San Francisco v. Trump (2 pages)"
    parts = [p.get_content_type() for p in second.message.walk()]
    assert parts == ["multipart/alternative", "text/plain", "multipart/related", "text/html", "image/png"]
    png_part = next(p for p in second.message.walk() if p.get_content_type() == "image/png")
    cid = png_part["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in second.part("html") and png_part.get_content() == image.data
    assert "Pages: 2" in second.part("plain") and "MINUTE ORDER Pursuant to the discovery hearing" in second.part(
        "plain"
    )

    # the PDF was fetched once, from storage, with no credential; CourtListener saw only the watch's own calls
    [fetch] = [r for r in server.requests if r.path == RECAP_PATH]
    assert not {k.lower() for k in fetch.headers} & {"authorization", "cookie"} and TOKEN not in str(fetch.headers)
    assert not [r for r in cl.requests if "recap" in r.path or r.path.endswith(".pdf")]

    # nothing more on the next check: the preview is sent once
    code, report, _ = check(path)
    assert code == 0 and changes(report) == [] and len(slack.messages) == 2 and len(smtp.messages) == 2


def test_previews_spend_no_courtlistener_api_calls(cl, server, env, write_config):
    """A check that alerts and previews a filing makes exactly the watch's own two API calls (the gate and the
    entries): the PDF comes from the storage host, and the budget counts nothing for it."""
    code, report, path = new_filing_checked(cl, server, write_config)
    assert code == 0 and len(previews_of(report)) == 1 and server.count(RECAP_PATH) == 1
    during = [r.path for r in cl.requests if r.is_api][-2:]
    assert len([r for r in cl.requests if r.is_api]) == 4  # the baseline's two calls, then this check's two
    assert during == [f"/api/rest/v4/dockets/{DOCKET}/", "/api/rest/v4/docket-entries/"]
    status = json.loads(run_cli("status", "--config", str(path), "--json").out)
    windows = status["watches"][0]["info"]["budget"]["windows"]
    used = next(w["used"] for w in windows if w["window"].endswith("/day"))
    assert used == len([r for r in cl.requests if r.is_api])  # every call counted was the watch's


def test_console_and_the_json_report_show_pages_and_excerpt(cl, server, env, write_config):
    """The console prints the preview's page count, first lines and free link; `check` text shows them too."""
    server.set(RECAP_PATH, ORDER, content_type="application/pdf")
    path = case_config(write_config, cl, server, notifiers="  terminal: {type: console}")
    baseline(cl, path)
    file_entry(cl, 2, server.url(RECAP_PATH))
    result = run_cli("check", "--config", str(path))
    assert result.code == 0, result.err
    assert "[Preview] SF v. Trump: City and County of San Francisco v. Trump: #2 Order granting motion" in result.out
    assert "  Pages: 2" in result.out and "  Text: UNITED STATES DISTRICT COURT" in result.out
    assert f"  Free PDF: {server.url(RECAP_PATH)}" in result.out
    assert "sf: 1 added, 1 updated" in result.out and "2 pages: UNITED STATES DISTRICT COURT" in result.out


# ---------------------------------------------------------------- hostile input


@pytest.mark.parametrize(
    "route, reason",
    [
        (Route(pdfs.HTML_ERROR_PAGE, content_type="text/html"), "the server sent an HTML page, not a PDF"),
        (Route(pdfs.encrypted_pdf(), content_type="application/pdf"), "the PDF is encrypted"),
        (Route(pdfs.bomb_pdf(), content_type="application/pdf"), "decompression bomb"),
        (Route(pdfs.truncated(ORDER), content_type="application/pdf"), "damaged or cut short"),
        (Route(b"gone", status=404, content_type="text/plain"), "not found (HTTP 404)"),
        (
            Route(b"", status=302, headers={"Location": "https://ecf.cand.uscourts.gov/doc1/035123456789"}),
            "redirected (HTTP 302) to https://ecf.cand.uscourts.gov/doc1/035123456789; not followed",
        ),
    ],
    ids=["html", "encrypted", "bomb", "truncated", "404", "redirect-to-pacer"],
)
def test_a_hostile_or_missing_pdf_is_a_warning_and_the_check_succeeds(
    cl, server, slack, env, write_config, route, reason
):
    """The alert goes out; the preview is skipped with a warning naming the reason; the check exits 0; the
    file is not tried again at the next check."""
    server.routes[RECAP_PATH] = route
    path = case_config(write_config, cl, server, slack)
    baseline(cl, path)
    file_entry(cl, 2, server.url(RECAP_PATH))
    code, report, _err = check(path)
    assert code == 0 and report["ok"], report
    [alert] = changes(report)
    assert alert["kind"] == "added"
    [warning] = report["watches"][0]["warnings"]
    assert warning.startswith("preview skipped: ") and reason in warning and server.url(RECAP_PATH) in warning
    assert len(slack.messages) == 1 and not slack.uploads()
    code, report, _ = check(path)
    assert code == 0 and report["watches"][0]["warnings"] == [] and server.count(RECAP_PATH) == 1


def test_a_pdf_over_the_size_cap_is_not_read_past_it(cl, server, env, write_config):
    """`previews.max_bytes` stops the download; the warning says which key to raise."""
    code, report, _ = new_filing_checked(cl, server, write_config, previews="max_bytes: 1KB")
    [warning] = report["watches"][0]["warnings"]
    assert code == 0 and "over the 1,024-byte cap" in warning and "raise previews.max_bytes" in warning


def test_a_storage_host_that_is_down_is_tried_again_then_previewed(cl, server, env, write_config, monkeypatch):
    """A 503 from storage postpones the preview (no warning yet); the next pass reads it."""
    monkeypatch.setattr(preview_worker, "RETRY_DELAYS", (0.0, 0.0, 0.0))
    server.sequence(
        RECAP_PATH,
        [Route(b"busy", status=503, content_type="text/plain"), Route(ORDER, content_type="application/pdf")],
    )
    path = case_config(write_config, cl, server, notifiers="  terminal: {type: console}")
    baseline(cl, path)
    file_entry(cl, 2, server.url(RECAP_PATH))
    code, report, _ = check(path)
    assert code == 0 and report["watches"][0]["warnings"] == [] and previews_of(report) == []
    code, report, _ = check(path)
    assert code == 0 and len(previews_of(report)) == 1 and server.count(RECAP_PATH) == 2


# ---------------------------------------------------------------- who gets it, and when


def test_a_notifier_with_previews_false_gets_the_alert_only(cl, server, slack, smtp, env, write_config):
    """`previews: false` on a notifier: it gets the alert, never the preview; the others get both."""
    server.set(RECAP_PATH, ORDER, content_type="application/pdf")
    path = case_config(
        write_config,
        cl,
        server,
        slack,
        notifiers=(
            f"  counsel: {{type: email, host: 127.0.0.1, port: {smtp.port}, from: alerts@example.org, "
            "to: [litigation@example.org], previews: false}"
        ),
    )
    baseline(cl, path)
    file_entry(cl, 2, server.url(RECAP_PATH))
    code, report, _ = check(path)
    assert code == 0 and len(previews_of(report)) == 1
    assert len(smtp.messages) == 1 and smtp.messages[0].message["Subject"].startswith("New filing #2")
    assert len(slack.uploads()) == 1


def test_the_preview_waits_for_the_alert_and_follows_it(cl, server, slack, smtp, env, write_config):
    """Slack failing: the alert waits in the outbox, and so does the preview, for everyone. When Slack is back,
    the alert goes out, then the preview: never a preview before its alert, at any receiver."""
    server.set(RECAP_PATH, ORDER, content_type="application/pdf")
    path = case_config(write_config, cl, server, slack, smtp)
    baseline(cl, path)
    slack.script(*[Answer.http(500)] * 4)  # one send's four tries
    file_entry(cl, 2, server.url(RECAP_PATH))
    code, report, _ = check(path)
    assert code == 1 and report["deliveries"]["retrying"] == 1  # the Slack alert is to be retried
    assert previews_of(report) == [] and slack.messages == [] and len(smtp.messages) == 1
    store = open_store(path)
    try:
        [job] = store.preview_jobs(["ready"])  # read, waiting for its alert
        with store.engine.begin() as conn:  # the outbox's backoff has passed
            conn.execute(schema.deliveries.update().values(next_attempt_at=datetime(2000, 1, 1, tzinfo=UTC)))
    finally:
        store.close()
    code, report, _ = check(path)
    assert code == 0, report
    assert [bool(m.files) for m in slack.messages] == [False, True]  # the alert, then the thumbnail
    assert [m.message["Subject"][:7] for m in smtp.messages] == ["New fil", "Preview"]
    assert slack.messages[1].thread_ts == slack.messages[0].ts and job["url"] == server.url(RECAP_PATH)


def test_a_crash_between_the_alert_and_the_preview_loses_nothing_and_sends_it_once(
    cl, server, slack, env, write_config
):
    """The check records and delivers the alert, then the process dies before any preview work: the next
    check finds the filing in the recorded changes and sends its preview, once."""
    from monitor.app import runtime

    server.set(RECAP_PATH, ORDER, content_type="application/pdf")
    path = case_config(write_config, cl, server, slack)
    baseline(cl, path)
    file_entry(cl, 2, server.url(RECAP_PATH))
    config = loads(path.read_text())

    async def check_and_die() -> None:  # `monitor check` up to its deliveries, and no further
        async with runtime(config) as rt:
            await rt.engine.run_cycle()
            await rt.dispatcher.deliver_due(drain=True)

    asyncio.run(check_and_die())
    assert len(slack.messages) == 1 and not slack.uploads()
    code, _report, _ = check(path)  # nothing new at the source; the preview is found and sent
    assert code == 0 and len(slack.uploads()) == 1
    for _ in range(2):
        check(path)
    assert len(slack.uploads()) == 1 and server.count(RECAP_PATH) == 1


def test_rss_then_courtlistener_the_preview_follows_the_update(cl, server, slack, env, write_config):
    """The shipped pairing: the court's RSS alert links PACER (never fetched); CourtListener's update brings
    the RECAP copy; the preview follows that update into the case's thread."""
    [entry] = recorded("docket_alert_v2.json")["payload"]["results"]
    recap = "/" + entry["recap_documents"][0]["filepath_local"]  # recap/gov.uscourts.dcd.178502/...140.0.pdf
    entry["recap_documents"][0]["filepath_local"] = server.url(recap)  # RECAP's storage, played locally
    server.set(recap, ORDER, content_type="application/pdf")
    cl.add_docket(**recorded("docket_detail_4214664.json"))
    server.set("/cgi-bin/rss_outside.pl", DCD_RSS.format(items=""))
    path = write_config(f"""
previews: {{hosts: ["127.0.0.1:{server.port}"]}}
notifiers:
  newsroom: {{type: slack, token: "${{SLACK_BOT_TOKEN}}", channel: "C0SANCTUARY", base_url: "{slack.base_url}"}}
watches:
  - {{id: nvlsp-rss, type: pacer_rss, court: dcd, cases: ["1:16-cv-00745"],
      url: "{server.url("/cgi-bin/rss_outside.pl")}"}}
  - {{id: nvlsp-cl, type: courtlistener, base_url: "{cl.base_url}", docket_id: {RECORDED_ID}, per_minute: 0}}
""")
    assert run_cli("check", "--config", str(path)).code == 0
    server.set("/cgi-bin/rss_outside.pl", DCD_RSS.format(items=ENTRY_140_RSS))
    assert run_cli("check", "--config", str(path)).code == 0
    [alert] = slack.messages
    assert "ecf.dcd.uscourts.gov/doc1/" in alert.everything()  # PACER's link: listed, never fetched
    cl.add_entry(RECORDED_ID, entry)
    result = run_cli("check", "--config", str(path), "--json")
    report = json.loads(result.out)
    cl_result = next(w for w in report["watches"] if w["watch"] == "nvlsp-cl")
    kinds = [(c["kind"], bool(c.get("changed", {}).get("fields.preview_pages"))) for c in cl_result["changes"]]
    assert kinds == [("updated", False), ("updated", True)]
    assert cl_result["changes"][1]["key"] == RECORDED_KEY
    [update, upload] = slack.messages[1:]
    assert update.thread_ts == upload.thread_ts == alert.ts and upload.files
    assert [r.path for r in server.requests if r.path.endswith(".pdf")] == [recap]


# ---------------------------------------------------------------- configuration


def test_pacer_is_refused_as_a_preview_host(write_config):
    """PACER charges per page: a `previews.hosts` entry on uscourts.gov is a configuration error saying so."""
    path = write_config("previews:\n  hosts: [ecf.cand.uscourts.gov]\n")
    result = run_cli("validate", "--config", str(path))
    assert result.code == 2 and "PACER charges for every document page" in result.err


def test_unknown_preview_key_names_the_allowed_ones(write_config):
    path = write_config("previews:\n  max_page: 3\n")
    result = run_cli("validate", "--config", str(path))
    assert result.code == 2 and "unknown key 'max_page'; did you mean 'max_pages'?" in result.err


def test_the_default_host_is_recaps_storage_and_pacer_links_are_not_free():
    """Out of the box only storage.courtlistener.com is fetched from; a PACER doc1 link never is."""
    from monitor.models import Item
    from monitor.previews.settings import PreviewsConfig

    free_pdf = inspect.unwrap(preview_worker.free_pdf)  # the real one (tests only fetch from 127.0.0.1)
    hosts = PreviewsConfig().hosts
    recap = "https://storage.courtlistener.com/recap/gov.uscourts.dcd.178502/gov.uscourts.dcd.178502.140.0.pdf"
    assert free_pdf(Item("k", "t", fields={"document_url": recap}), hosts) == recap
    for url in (
        "https://ecf.cand.uscourts.gov/doc1/035123456789",
        "https://www.courtlistener.com/docket/1/2/x/",
        "ftp://storage.courtlistener.com/x.pdf",
        "https://storage.courtlistener.com.evil.example/x.pdf",
    ):
        assert free_pdf(Item("k", "t", fields={"document_url": url}), hosts) is None, url


def test_a_sealed_entry_is_never_fetched(cl, server, env, write_config):
    """An entry whose text says it is sealed is not fetched, even with a link."""
    code, report, _ = new_filing_checked(cl, server, write_config, short="SEALED MOTION for Leave to File Under Seal")
    assert code == 0 and previews_of(report) == [] and server.count(RECAP_PATH) == 0


def test_previews_disabled_fetch_nothing(cl, server, env, write_config):
    """`previews: {enabled: false}`: the alert only; the PDF is never fetched."""
    code, report, _ = new_filing_checked(cl, server, write_config, previews="enabled: false")
    assert code == 0 and previews_of(report) == [] and server.count(RECAP_PATH) == 0


def test_change_is_a_preview_only_when_all_its_changed_fields_are_preview_fields():
    from monitor.models import Item
    from monitor.previews import is_preview

    item = Item("k", "t")
    assert is_preview(Change("w", "updated", item, before=item, changed_fields=("fields.preview_pages",)))
    assert not is_preview(
        Change("w", "updated", item, before=item, changed_fields=("fields.preview_pages", "fields.description"))
    )
    assert not is_preview(Change("w", "added", item))


def test_the_shipped_config_turns_previews_on_from_recap_only():
    """config/watches.yaml shows the `previews:` block: on, 20 MB, 2 pages, 20 s, RECAP's storage only."""
    shipped = Path(__file__).resolve().parents[2] / "config" / "watches.yaml"
    settings = loads(shipped.read_text(), env={"SLACK_BOT_TOKEN": "x" * 8}).previews
    assert settings.enabled and settings.max_bytes == 20 * 1024 * 1024 and settings.max_pages == 2
    assert settings.timeout == 20 and settings.hosts == ("storage.courtlistener.com",)
