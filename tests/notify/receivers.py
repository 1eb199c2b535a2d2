"""Real servers that notifications are sent to: an HTTP receiver and an SMTP server, on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.servers import free_port


@dataclass(frozen=True)
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes


class HttpReceiver:
    """A threaded HTTP server recording every POST; answers with `statuses` in turn, then `then`."""

    def __init__(self, statuses: Iterable[int] = (), *, then: int = 200) -> None:
        self._statuses = list(statuses)
        self._then = then
        self._lock = threading.Lock()
        self.requests: list[Received] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    receiver.requests.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    code = receiver._statuses.pop(0) if receiver._statuses else receiver._then
                answer = b"ok" if code < 400 else b"receiver says no"
                self.send_response(code)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def __enter__(self) -> HttpReceiver:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _Recorder:
    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, EmailMessage]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((envelope, parsed))
        return "250 OK"


class SmtpServer:
    """An aiosmtpd server on loopback recording every message; with `login`, it requires AUTH."""

    def __init__(self, login: tuple[str, str] | None = None) -> None:
        self._recorder = _Recorder()
        self.port = free_port()
        self.logins: list[str] = []
        options: dict[str, Any] = {}
        if login is not None:

            def authenticate(
                server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
            ) -> AuthResult:
                ok = (
                    isinstance(auth_data, LoginPassword)
                    and (
                        auth_data.login.decode(),
                        auth_data.password.decode(),
                    )
                    == login
                )
                if ok:
                    self.logins.append(auth_data.login.decode())
                return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535

            options = {"authenticator": authenticate, "auth_require_tls": False}
        self._controller = Controller(self._recorder, hostname="127.0.0.1", port=self.port, **options)

    @property
    def messages(self) -> list[tuple[Envelope, EmailMessage]]:
        return self._recorder.messages

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._controller.stop()
