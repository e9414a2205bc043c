"""How each notifier shows a document preview (the update that follows a filing's alert): Slack uploads
the thumbnail into the case's thread (and falls back to text when it cannot), previews never vanish into
a digest, the webhook and Apprise carry the page count and first lines."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import pytest

from monitor.models import Change, Item
from monitor.store import new_uid
from monitor.store.previews import image_ref
from notifiers.apprise import AppriseNotifier
from notifiers.base import Alert
from tests.conftest import DATA
from tests.notifiers import SF, Outbox, added, config, deliver, filing
from tests.support.slack_server import Answer

PNG = b"\x89PNG\r\n\x1a\n" + b"thumbnail bytes" * 20
RECAP = "https://storage.courtlistener.com/recap/gov.uscourts.cand.0/gov.uscourts.cand.0.112.0.pdf"
EXCERPT = (
    "UNITED STATES DISTRICT COURT NORTHERN DISTRICT OF CALIFORNIA CITY AND COUNTY OF SAN FRANCISCO, et al., "
    "Plaintiffs, v. DONALD J. TRUMP, et al., Defendants. ORDER GRANTING MOTION FOR PRELIMINARY INJUNCTION"
)


def preview(alerted: Change, *, pages: int = 12, thumbnail: str | None = image_ref(PNG)) -> Change:
    """The preview change the worker records after `alerted` went out (monitor.previews.worker)."""
    facts = {"preview_pages": pages, "preview_excerpt": EXCERPT, "preview_url": RECAP}
    if thumbnail:
        facts["preview_thumbnail"] = thumbnail
    after = replace(alerted.item, fields={**alerted.item.fields, **facts})
    return Change(
        alerted.watch_id,
        "updated",
        after,
        before=alerted.item,
        changed_fields=tuple(f"fields.{k}" for k in facts),
        uid=new_uid(),
    )


def keep_image(box: Outbox, png: bytes = PNG) -> None:
    from monitor.models import utcnow
    from monitor.store import schema

    with box.store.engine.begin() as conn:
        conn.execute(
            schema.preview_images.insert().values(
                id=image_ref(png).removeprefix("sha256:"), png=png, width=600, height=777, created_at=utcnow()
            )
        )


def slack_box(tmp_path, slack, channel: str = "#sanctuary-cases", extra: str = "") -> Outbox:
    return Outbox.open(
        config(
            tmp_path,
            f'  newsroom: {{type: slack, token: "${{SLACK_BOT_TOKEN}}", '
            f'channel: "{channel}", base_url: "{slack.base_url}"{extra}}}',
        )
    )


def test_slack_learns_the_channel_id_from_the_alert_and_uploads_into_the_thread(tmp_path, slack):
    """Configured by name, the channel's ID comes from the answer to the alert's post (uploads need an ID);
    the thumbnail then goes into the case's thread, its comment the preview's text, escaped."""
    box = slack_box(tmp_path, slack)
    try:
        keep_image(box)
        alert = added("sf-v-trump", filing(112, text="Order granting <motion> & more"))
        assert deliver(box, alert).sent == 1
        assert deliver(box, preview(alert)).sent == 1
        [post, upload] = slack.messages
        assert upload.channel == post.channel == "C0SANCTUARY" and upload.thread_ts == post.ts
        assert upload.files[0].data == PNG and upload.files[0].title == f"First page of filing #112 in {SF}"
        assert upload.text.startswith(f"*Preview of filing #112 in {SF} (12 pages)*\n")
        assert f"<{RECAP}|Order granting &lt;motion&gt; &amp; more>" in upload.text
        assert "> UNITED STATES DISTRICT COURT NORTHERN DISTRICT OF CALIFORNIA" in upload.text
        assert box.store.get_notifier_state("newsroom", "channel-id:#sanctuary-cases") == "C0SANCTUARY"
        assert [r["result"].get("file") for r in box.rows()][1] == upload.files[0].id
    finally:
        box.close()


def test_slack_without_files_write_posts_the_preview_as_text(tmp_path, slack, caplog):
    """An app installed without files:write: the preview is still delivered, as a message with its text, and the
    log says which scope to add."""
    box = slack_box(tmp_path, slack)
    try:
        keep_image(box)
        alert = added("sf-v-trump", filing(112))
        deliver(box, alert)
        slack.script(Answer.error("missing_scope"), method="files.getUploadURLExternal")
        with caplog.at_level(logging.WARNING, logger="notifiers.slack"):
            report = deliver(box, preview(alert))
        assert report.sent == 1 and not report.errors
        [post, text] = slack.messages
        assert not text.files and text.thread_ts == post.ts
        assert f"Preview of filing #112 in {SF} (12 pages)" in text.everything() and "Pages" in text.everything()
        assert EXCERPT[:60] in text.everything() and f"<{RECAP}|Free PDF (RECAP)>" in text.everything()
        assert "files:write" in caplog.text
    finally:
        box.close()


def test_slack_posts_the_preview_as_text_when_its_thumbnail_is_gone(tmp_path, slack):
    """A thumbnail pruned (`previews.keep`) before a delayed preview went out: the text still goes."""
    box = slack_box(tmp_path, slack, channel="C0SANCTUARY")
    try:
        alert = added("sf-v-trump", filing(112))
        deliver(box, alert)
        assert deliver(box, preview(alert)).sent == 1
        assert not slack.uploads() and len(slack.messages) == 2 and EXCERPT[:40] in slack.messages[1].everything()
    finally:
        box.close()


def test_slack_uploads_top_level_when_the_thread_is_gone_or_threads_are_off(tmp_path, slack):
    """A thread Slack no longer knows: the upload goes to the channel. `thread: none`: never in a thread."""
    box = slack_box(tmp_path, slack, channel="C0SANCTUARY")
    try:
        keep_image(box)
        alert = added("sf-v-trump", filing(112))
        deliver(box, alert)
        box.store.set_notifier_state("newsroom", "thread:case:cand:3:25-cv-01350", "1700000000.000001")
        assert deliver(box, preview(alert)).sent == 1
        [upload] = slack.uploads()
        assert upload.thread_ts is None
    finally:
        box.close()
    none = slack_box(tmp_path / "none", slack, channel="C0SANCTUARY", extra=", thread: none")
    try:
        keep_image(none)
        alert = added("sf-v-trump", filing(113))
        deliver(none, alert)
        deliver(none, preview(alert))
        assert [m.thread_ts for m in slack.uploads()] == [None, None]
    finally:
        none.close()


def test_previews_are_never_folded_into_a_digest(tmp_path, slack):
    """Six filings at once are one digest; six previews found at once are six uploads, each its own image."""
    box = slack_box(tmp_path, slack, channel="C0SANCTUARY")
    try:
        keep_image(box)
        alerts = [added("sf-v-trump", filing(n)) for n in range(200, 206)]
        assert deliver(box, *alerts).sent == 6
        [digest] = slack.messages
        assert "6 new items" in digest.text
        assert deliver(box, *[preview(a) for a in alerts]).sent == 6
        assert len(slack.uploads()) == 6 and all(u.thread_ts == digest.ts for u in slack.uploads())
    finally:
        box.close()


def test_webhook_posts_pages_excerpt_and_the_free_link(tmp_path, server):
    """The webhook's JSON carries the preview fields as an update, and its ready-made text says them."""
    server.set("/hook", b"ok", content_type="text/plain")
    box = Outbox.open(config(tmp_path, f"  cms: {{type: webhook, url: {server.url('/hook')}}}"))
    try:
        alert = added("sf-v-trump", filing(112))
        deliver(box, alert)
        deliver(box, preview(alert))
        body = json.loads(server.requests[-1].body)
        assert body["kind"] == "updated" and body["key"] == alert.key
        assert body["changed"]["fields.preview_pages"] == {"before": None, "after": 12}
        assert body["item"]["fields"]["preview_excerpt"] == EXCERPT
        assert body["message"]["subject"] == f"Preview of filing #112 in {SF} (12 pages)"
        assert "Pages: 12" in body["message"]["text"] and EXCERPT[:50] in body["message"]["text"]
        assert f"Free PDF (RECAP): {RECAP}" in body["message"]["text"]
    finally:
        box.close()


def test_apprise_and_email_text_say_pages_and_first_lines(tmp_path):
    """Apprise's message (text and Markdown) and the email's text part carry the page count and the excerpt."""
    from notifiers.email import EmailNotifier

    box = Outbox.open(
        config(
            tmp_path,
            '  phones: {type: apprise, urls: ["json://127.0.0.1:9/x"], format: markdown}\n'
            "  counsel: {type: email, host: 127.0.0.1, from: a@example.org, to: [b@example.org]}",
        )
    )
    try:
        alert = added("sf-v-trump", filing(112))
        change = preview(alert)
        box.record([change])
        [delivery] = [d for d in box.store.pending_deliveries() if d.notifier == "phones"]
        title, body, _ = AppriseNotifier("phones", box.config.notifiers["phones"]).render(
            Alert("phones", "sf-v-trump", "SF v. Trump", (delivery,))
        )
        assert title == f"Preview of filing #112 in {SF} (12 pages)"
        assert "12" in body and EXCERPT[:40] in body and RECAP in body
        message = EmailNotifier("counsel", box.config.notifiers["counsel"]).build_message(
            Alert("counsel", "sf-v-trump", "SF v. Trump", (delivery,)), {image_ref(PNG): PNG}
        )
        plain = message.get_body(preferencelist=("plain",))
        assert plain is not None
        text = plain.get_content()
        assert "Pages: 12" in text and EXCERPT[:60] in text
        assert [p.get_content_type() for p in message.walk()][-1] == "image/png"
    finally:
        box.close()


def test_a_real_thumbnail_fits_in_an_email_and_a_slack_upload():
    """The court order's thumbnail is small enough for both (well under Slack's and mail servers' limits)."""
    import asyncio

    from monitor.previews.pdf import read_pdf

    document = asyncio.run(read_pdf((DATA / "previews" / "minute_order_dcd_1-20-cv-03010_2021-08-19.pdf").read_bytes()))
    assert 1_000 < len(document.png) < 200_000


@pytest.mark.parametrize("kind", ["console", "slack", "email", "webhook", "apprise"])
def test_every_notifier_takes_previews_false(kind, tmp_path):
    """`previews: false` is a key of every notifier."""
    settings = {
        "console": "{type: console, previews: false}",
        "slack": '{type: slack, token: "${SLACK_BOT_TOKEN}", channel: C0X, previews: false}',
        "email": "{type: email, host: h, from: a@example.org, to: [b@example.org], previews: false}",
        "webhook": "{type: webhook, url: 'https://hooks.example.org/x', previews: false}",
        "apprise": '{type: apprise, urls: ["json://127.0.0.1:9/x"], previews: false}',
    }[kind]
    assert config(tmp_path, f"  n: {settings}").notifiers["n"].previews is False


def test_an_item_without_preview_fields_is_not_a_preview():
    """An ordinary update (new docket text) is rendered as before -> after, not as a preview."""
    from notifiers.format import describe

    before = filing(112)
    after = Item(
        before.key,
        before.title,
        before.url,
        before.summary,
        before.published,
        before.group,
        {**before.fields, "description": "Longer docket text."},
    )
    content = describe(Change("w", "updated", after, before=before, changed_fields=("fields.description",)), "w")
    assert content.preview is None and content.changes
