"""A fake Stripe API: a REAL local HTTP server answering `POST /v1/checkout/sessions`.

stripe-python talks to it exactly as to api.stripe.com (form-encoded body, bearer secret key),
through `TOKENOPTIMIZER_STRIPE_API_BASE`. Each request is kept (`requests`) for assertions; the
answer is a Checkout Session echoing the metadata, as Stripe's is.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl


@dataclass
class StripeRequest:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class FakeStripe:
    requests: list[StripeRequest] = field(default_factory=list)
    fail_with: tuple[int, dict[str, Any]] | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeStripe:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("content-length") or 0)
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                fake.requests.append(StripeRequest("POST", self.path, dict(self.headers.items()), form))
                if fake.fail_with is not None:
                    self._answer(*fake.fail_with)
                elif self.path == "/v1/checkout/sessions":
                    session_id = f"cs_test_{next(fake._ids):04d}"
                    metadata = {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")}
                    self._answer(
                        200,
                        {
                            "id": session_id,
                            "object": "checkout.session",
                            "mode": form.get("mode"),
                            "payment_status": "unpaid",
                            "metadata": metadata,
                            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
                        },
                    )
                else:
                    self._answer(
                        404, {"error": {"type": "invalid_request_error", "message": "no such route"}}
                    )

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
