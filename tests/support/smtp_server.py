"""An SMTP server on 127.0.0.1 (aiosmtpd) that records what it receives, and can be told to refuse.

`messages` holds each accepted message: the envelope (MAIL FROM, RCPT TO) and the parsed message.
`refuse[address] = "550 5.1.1 no such user"` refuses a recipient; `data_answers` scripts the answers to
DATA in order ("451 4.3.0 try again later"). With `users`, AUTH is offered and checked (over plain
text too: it is a test server). `tls_context` serves implicit TLS, `starttls_context` offers and
requires STARTTLS. `make_certificate` writes a self-signed certificate for 127.0.0.1 with openssl.
"""

from __future__ import annotations

import email
import email.policy
import shutil
import socket
import ssl
import subprocess
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    message: EmailMessage

    def headers(self, name: str) -> list[str]:
        return [str(v) for v in (self.message.get_all(name) or [])]

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        return body.get_content() if body is not None else ""


@dataclass
class _Handler:
    server: SmtpServer

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        answer = self.server.refuse.get(address)
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.server.data_answers:
            return self.server.data_answers.pop(0)
        data = envelope.original_content or envelope.content
        message = email.message_from_bytes(data, policy=email.policy.default)
        self.server.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), data, message))
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    users: dict[str, str] = field(default_factory=dict)
    tls_context: ssl.SSLContext | None = None
    starttls_context: ssl.SSLContext | None = None
    messages: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    data_answers: list[str] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 0
    _controller: Controller | None = None

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login, password = auth_data.login.decode(), auth_data.password.decode()
            self.logins.append(login)
            return AuthResult(success=self.users.get(login) == password, handled=False)
        return AuthResult(success=False, handled=False)

    def start(self) -> SmtpServer:
        self.port = _free_port()
        kwargs: dict[str, Any] = {}
        if self.users:
            kwargs.update(authenticator=self._authenticate, auth_require_tls=False)
        if self.starttls_context:
            kwargs.update(tls_context=self.starttls_context, require_starttls=True)
        self._controller = Controller(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            ssl_context=self.tls_context,
            server_hostname="mail.test",
            **kwargs,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller:
            self._controller.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_certificate(directory: Path) -> tuple[Path, Path] | None:
    """A self-signed certificate and key for 127.0.0.1 and localhost, or None without openssl."""
    openssl = shutil.which("openssl")
    if not openssl:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context
