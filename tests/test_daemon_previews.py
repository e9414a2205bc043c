"""`monitor run` with document previews: the daemon's background worker sends a filing's preview after its
alert, logs a hostile PDF as a warning on the watch, and keeps running (a real daemon subprocess against
CourtListener, RECAP storage and Slack stand-ins on 127.0.0.1)."""

from __future__ import annotations

import signal

import pytest

from tests.conftest import DATA
from tests.monitor.test_previews import DOCKET, RECAP_PATH, file_entry
from tests.notifiers import SLACK_TOKEN
from tests.support import pdfs
from tests.support.courtlistener_server import TOKEN
from tests.support.daemon import DaemonProcess
from tests.watchers.test_courtlistener import SF_V_TRUMP, stub_entry

pytestmark = pytest.mark.slow

ORDER = (DATA / "previews" / "minute_order_dcd_1-20-cv-03010_2021-08-19.pdf").read_bytes()


def test_the_daemon_sends_the_preview_after_the_alert_and_survives_a_hostile_pdf(
    cl, server, slack, daemons, write_config
):
    """New filing with a free PDF: the alert, then the thumbnail in the case's thread, from the daemon's own
    worker; a filing whose "PDF" is an HTML page: its alert, a warning naming the watch, and the daemon runs on."""
    server.set(RECAP_PATH, ORDER, content_type="application/pdf")
    server.set("/recap/broken.pdf", pdfs.HTML_ERROR_PAGE, content_type="text/html")
    cl.add_docket(**SF_V_TRUMP)
    cl.add_entry(DOCKET, stub_entry(1, "Complaint", date="2025-02-07"))
    path = write_config(f"""
daemon: {{log_format: json}}
previews: {{hosts: ["127.0.0.1:{server.port}"]}}
notifiers:
  newsroom: {{type: slack, token: "${{SLACK_BOT_TOKEN}}", channel: "C0SANCTUARY", base_url: "{slack.base_url}"}}
watches:
  - {{id: sf, type: courtlistener, base_url: "{cl.base_url}", court: cand, docket_number: "3:25-cv-01350",
      every: 1s, per_minute: 0, daily_budget: 1000000}}
""")
    daemon: DaemonProcess = daemons(path, env={"COURTLISTENER_TOKEN": TOKEN, "SLACK_BOT_TOKEN": SLACK_TOKEN})
    daemon.wait_log("baseline recorded", timeout=60, watch="sf")

    file_entry(cl, 2, server.url(RECAP_PATH))
    daemon.wait_for(lambda: slack.uploads(), 60, "the preview's upload")
    [alert, upload] = slack.messages
    assert "New filing #2" in alert.text and not alert.files
    assert upload.thread_ts == alert.ts and upload.files[0].data[:8] == b"\x89PNG\r\n\x1a\n"
    assert "(2 pages)" in upload.text
    daemon.wait_log("preview of entry:cand:3:25-cv-01350:2 recorded", timeout=10, watch="sf")

    file_entry(cl, 3, server.url("/recap/broken.pdf"), short="Notice")
    record = daemon.wait_log("preview skipped: the server sent an HTML page, not a PDF", timeout=60, watch="sf")
    assert record["level"] == "warning" and server.url("/recap/broken.pdf") in record["msg"]
    daemon.wait_for(lambda: any("New filing #3" in m.text for m in slack.messages), 60, "the alert of filing #3")
    assert len(slack.uploads()) == 1  # no preview of the HTML page
    assert daemon.get("/healthz")[0] == 200

    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.proc.wait(30) == 0
    assert TOKEN not in daemon.stderr() + daemon.stdout() and SLACK_TOKEN not in daemon.stderr()
