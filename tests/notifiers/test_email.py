"""The email notifier against a real SMTP server (aiosmtpd) on 127.0.0.1, through the real outbox."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.errors import ConfigError
from notifiers.digest import next_boundary, previous_boundary
from tests.notifiers import SF, Outbox, added, config, deliver, filing, release, updated
from tests.support.smtp_server import SmtpServer, make_certificate, server_context


def email_config(tmp_path, smtp: SmtpServer, extra: str = "", env: dict | None = None):
    return config(
        tmp_path,
        f"""  counsel: {{type: email, host: 127.0.0.1, port: {smtp.port}, from: "Court monitor <alerts@example.org>",
    to: [litigation@example.org, clerk@example.org]{extra}}}""",
        env=env,
    )


@pytest.fixture
def outbox(tmp_path, smtp):
    box = Outbox.open(email_config(tmp_path, smtp))
    yield box
    box.close()


def test_new_filing_is_one_email_with_text_and_html(outbox, smtp):
    """A new filing is one multipart email whose subject says what happened, with all fields and links in both parts."""
    item = filing(
        112,
        text="Order granting motion for preliminary injunction",
        description="ORDER GRANTING PRELIMINARY INJUNCTION. Signed by Judge William H. Orrick on 4/24/2025.",
    )
    report = deliver(outbox, added("sf-v-trump", item.with_matched(("sanctuary",))))
    assert report.sent == 1
    [mail] = smtp.messages
    assert mail.message["Subject"] == f"New filing #112 in {SF}"
    assert mail.mail_from == "alerts@example.org"
    assert mail.rcpt_tos == ["litigation@example.org", "clerk@example.org"]
    assert mail.message["From"] == "Court monitor <alerts@example.org>"
    assert mail.message["Auto-Submitted"] == "auto-generated"
    assert mail.message.is_multipart() and mail.message.get_content_type() == "multipart/alternative"
    text, html = mail.part("plain"), mail.part("html")
    for expected in (
        "Order granting motion for preliminary injunction",
        "N.D. Cal. · 3:25-cv-01350",
        "Entry: #112",
        "Filed: 2025-04-24",
        "Signed by Judge William H. Orrick",
        "Source: courtlistener",
        "Document: https://ecf.cand.uscourts.gov/doc1/035125800112",
        "Docket: https://ecf.cand.uscourts.gov/cgi-bin/DktRpt.pl?449755",
        "Matched: sanctuary",
    ):
        assert expected in text, expected
    assert '<a href="https://ecf.cand.uscourts.gov/doc1/035125800112">Document</a>' in html
    assert "<td>N.D. Cal. · 3:25-cv-01350</td>" in html
    [row] = outbox.rows()
    assert row["status"] == "sent" and row["result"]["message_id"] == mail.message["Message-ID"]
    assert mail.message["References"] and mail.message["References"] == mail.message["In-Reply-To"]


def test_subjects_for_updates_and_press_releases(outbox, smtp):
    """Subjects say what happened: an update of a filing, a new press release."""
    deliver(
        outbox,
        updated("sf-v-trump", filing(7, text="Motion"), filing(7, text="Amended motion"), ["fields.short_description"]),
        added("doj-news", release("Justice Department Sues Illinois")),
    )
    subjects = sorted(m.message["Subject"] for m in smtp.messages)
    assert subjects == [
        "New from DOJ Office of Public Affairs: Justice Department Sues Illinois",
        f"Updated: filing #7 in {SF}",
    ]
    update = next(m for m in smtp.messages if m.message["Subject"].startswith("Updated"))
    assert "Short description: Motion -> Amended motion" in update.part("plain")


def test_title_with_a_newline_cannot_add_a_header(outbox, smtp):
    """A title carrying "\\nBcc: evil@example.com" stays inside the subject: no Bcc header, no extra recipient."""
    deliver(
        outbox,
        added(
            "doj-news", release("Statement on sanctuary cities\nBcc: evil@example.com", agency="DOJ\r\nX-Injected: yes")
        ),
    )
    [mail] = smtp.messages
    assert mail.message.get_all("Bcc") is None and mail.message.get_all("X-Injected") is None
    assert mail.rcpt_tos == ["litigation@example.org", "clerk@example.org"]
    assert "evil@example.com" not in " ".join(mail.rcpt_tos)
    subject = mail.message["Subject"]
    assert "\n" not in subject and "Bcc: evil@example.com" in subject
    assert b"\nBcc:" not in mail.data and b"\nX-Injected:" not in mail.data


def test_burst_is_one_email_digest(outbox, smtp):
    """Immediate mode: five or more changes of one watch at once are one email, subject "N new items: watch"."""
    deliver(outbox, *[added("doj-news", release(f"Release number {n}")) for n in range(3)])
    assert len(smtp.messages) == 3
    deliver(outbox, *[added("doj-news", release(f"Burst release {n}")) for n in range(6)])
    assert len(smtp.messages) == 4
    digest = smtp.messages[-1]
    assert digest.message["Subject"] == "6 new items: DOJ news"
    assert all(f"Burst release {n}" in digest.part("plain") for n in range(6))


def test_hourly_digest_holds_until_the_hour_then_sends_one_email_across_watches(tmp_path, smtp):
    """digest: hourly holds deliveries until the next full hour, then all pending ones go in one email."""
    box = Outbox.open(email_config(tmp_path, smtp, ", digest: hourly"))
    try:
        at = datetime(2025, 4, 24, 10, 20, tzinfo=UTC)
        box.record([added("sf-v-trump", filing(1), at=at), added("sf-v-trump", filing(2), at=at)], at=at)
        later = at + timedelta(minutes=29)
        box.record([added("doj-news", release("Justice Department Sues Illinois"), at=later)], at=later)
        report = deliver(box, now=at + timedelta(minutes=30))
        assert report.sent == 0 and smtp.messages == []
        assert {r["next_attempt_at"] for r in box.rows()} == {datetime(2025, 4, 24, 11, 0, tzinfo=UTC)}
        assert all(r["attempts"] == 0 for r in box.rows())  # holding is not an attempt

        report = deliver(box, now=datetime(2025, 4, 24, 11, 0, 5, tzinfo=UTC))
        assert report.sent == 3
        [mail] = smtp.messages
        assert mail.message["Subject"] == "3 new items: SF v. Trump, DOJ news"
        text = mail.part("plain")
        assert f"New filing #1 in {SF}" in text and "Justice Department Sues Illinois" in text
    finally:
        box.close()


def test_digest_boundaries():
    """Hourly boundaries are the next full hour; daily ones the next daily_at in the zone, across DST; and back."""
    utc, la = ZoneInfo("UTC"), ZoneInfo("America/Los_Angeles")
    eight = time(8, 0)
    assert next_boundary(datetime(2025, 4, 24, 10, 0, tzinfo=UTC), "hourly", utc, eight) == datetime(
        2025, 4, 24, 11, 0, tzinfo=UTC
    )
    assert next_boundary(datetime(2025, 4, 24, 7, 59, tzinfo=UTC), "daily", utc, eight) == datetime(
        2025, 4, 24, 8, 0, tzinfo=UTC
    )
    # 2025-03-08 20:00 in Los Angeles is PST; the next 08:00 (2025-03-09) is PDT, after the switch.
    assert next_boundary(datetime(2025, 3, 9, 4, 0, tzinfo=UTC), "daily", la, eight) == datetime(
        2025, 3, 9, 15, 0, tzinfo=UTC
    )
    # where the period holding a moment began: the boundary at or before it
    assert previous_boundary(datetime(2025, 4, 24, 10, 59, tzinfo=UTC), "hourly", utc, eight) == datetime(
        2025, 4, 24, 10, 0, tzinfo=UTC
    )
    assert previous_boundary(datetime(2025, 4, 24, 8, 0, tzinfo=UTC), "daily", utc, eight) == datetime(
        2025, 4, 24, 8, 0, tzinfo=UTC
    )
    assert previous_boundary(datetime(2025, 3, 9, 14, 59, tzinfo=UTC), "daily", la, eight) == datetime(
        2025, 3, 8, 16, 0, tzinfo=UTC
    )  # 08:00 PST, the day before the switch


def test_smtp_4xx_is_retried_and_5xx_fails(outbox, smtp):
    """A 451 answer leaves the delivery pending for a retry; a 550 refusal of every recipient fails it with the
    reply."""
    smtp.data_answers.append("451 4.3.0 Mail server temporarily rejected message")
    report = deliver(outbox, added("sf-v-trump", filing(1)))
    assert report.retrying == 1 and outbox.rows()[0]["status"] == "pending"
    assert "451" in outbox.rows()[0]["last_error"]

    smtp.refuse.update(
        {"litigation@example.org": "550 5.1.1 No such user", "clerk@example.org": "550 5.1.1 No such user"}
    )
    deliver(outbox, added("sf-v-trump", filing(2)))
    failed = [r for r in outbox.rows() if r["status"] == "failed"]
    assert len(failed) == 1 and "550 5.1.1" in failed[0]["last_error"] and failed[0]["attempts"] == 1


def test_one_refused_recipient_still_delivers_to_the_others(outbox, smtp):
    """When only some recipients are refused, the email is sent and the refusal is kept with the delivery."""
    smtp.refuse["clerk@example.org"] = "550 5.1.1 No such user"
    report = deliver(outbox, added("sf-v-trump", filing(1)))
    assert report.sent == 1 and smtp.messages[0].rcpt_tos == ["litigation@example.org"]
    assert "clerk@example.org" in outbox.rows()[0]["result"]["refused"][0]


def test_login_refused_is_permanent_and_never_shows_the_password(tmp_path):
    """Wrong credentials fail the delivery at once without showing the password; the right ones deliver."""
    smtp = SmtpServer(users={"monitor": "right-password"}).start()
    try:
        env = {"SMTP_USER": "monitor", "SMTP_PASSWORD": "wrong-password-123"}
        extra = ', username: "${SMTP_USER}", password: "${SMTP_PASSWORD}"'
        box = Outbox.open(email_config(tmp_path, smtp, extra, env=env))
        try:
            report = deliver(box, added("sf-v-trump", filing(1)))
            [row] = box.rows()
            assert report.failed == 1 and row["status"] == "failed" and "535" in row["last_error"]
            assert "wrong-password-123" not in row["last_error"]
        finally:
            box.close()
        good = Outbox.open(email_config(tmp_path / "good", smtp, extra, env={**env, "SMTP_PASSWORD": "right-password"}))
        try:
            assert deliver(good, added("sf-v-trump", filing(1))).sent == 1
            assert set(smtp.logins) == {"monitor"} and len(smtp.messages) == 1
        finally:
            good.close()
    finally:
        smtp.stop()


def test_tls_verifies_the_certificate(tmp_path):
    """Implicit TLS verifies the server certificate by default; trusting it through ca_file makes delivery work."""
    made = make_certificate(tmp_path)
    if made is None:
        pytest.skip("openssl is not installed")
    cert, key = made
    smtp = SmtpServer(tls_context=server_context(cert, key)).start()
    try:
        box = Outbox.open(email_config(tmp_path, smtp, ", tls: true"))
        try:
            report = deliver(box, added("sf-v-trump", filing(1)))
            assert report.retrying == 1 and smtp.messages == []
            assert "certificate" in box.rows()[0]["last_error"].lower()
        finally:
            box.close()
        trusted = Outbox.open(email_config(tmp_path / "trusted", smtp, f', tls: true, ca_file: "{cert}"'))
        try:
            assert deliver(trusted, added("sf-v-trump", filing(1))).sent == 1 and len(smtp.messages) == 1
        finally:
            trusted.close()
    finally:
        smtp.stop()


def test_starttls_is_required_when_configured(tmp_path):
    """With starttls: true the connection is upgraded (and verified) before anything is sent."""
    made = make_certificate(tmp_path)
    if made is None:
        pytest.skip("openssl is not installed")
    cert, key = made
    smtp = SmtpServer(starttls_context=server_context(cert, key)).start()
    try:
        box = Outbox.open(email_config(tmp_path, smtp, f', starttls: true, ca_file: "{cert}"'))
        try:
            assert deliver(box, added("sf-v-trump", filing(1))).sent == 1
        finally:
            box.close()
        plain = Outbox.open(email_config(tmp_path / "plain", smtp))  # no STARTTLS: the server refuses
        try:
            report = deliver(plain, added("sf-v-trump", filing(2)))
            assert report.sent == 0 and len(smtp.messages) == 1
        finally:
            plain.close()
    finally:
        smtp.stop()


@pytest.mark.parametrize(
    "extra, expected",
    [
        (", tls: true, starttls: true", "choose one of tls"),
        (', username: "u", password: "p", host: smtp.example.org', "unencrypted"),
        (', username: "u"', "both username and password"),
        (", to: []", "to"),
        (', to: ["not an address"]', "not an email address"),
        (", digest: weekly", "digest"),
        (", timezone: Mars/Olympus", "unknown time zone"),
        (", daily_at: '25:00'", "not a time of day"),
    ],
)
def test_config_rejects_unsafe_or_invalid_settings(tmp_path, extra, expected):
    """Conflicting TLS modes, a password over plain text, half credentials, bad addresses or digest settings are
    errors."""
    settings = {"host": "127.0.0.1", "port": "25", "from": "alerts@example.org", "to": "[a@example.org]"}
    overrides = dict(part.strip().split(": ", 1) for part in extra.split(",") if part.strip())
    settings.update(overrides)
    block = "  counsel: {type: email, " + ", ".join(f"{k}: {v}" for k, v in settings.items()) + "}"
    with pytest.raises(ConfigError) as caught:
        config(tmp_path, block)
    assert expected in str(caught.value)
