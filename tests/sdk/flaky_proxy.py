"""A real HTTP/1.1 proxy on loopback that can lose responses or answer errors, for delivery tests.

It forwards each request to the target server; told to, it drops the connection *after* the
server has handled the request (the client never hears that its events were stored) or answers
a status itself without forwarding. Only what the SDK sends is supported: bodies with
Content-Length, responses with Content-Length.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

from tests.servers import free_port


def _read_message(sock: socket.socket, buffer: bytearray) -> bytes | None:
    """One HTTP message (head + Content-Length body) from `sock`; None when the peer closed."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buffer.extend(chunk)
    head_end = buffer.index(b"\r\n\r\n") + 4
    length = 0
    for line in bytes(buffer[:head_end]).split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(buffer) < head_end + length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buffer.extend(chunk)
    message = bytes(buffer[: head_end + length])
    del buffer[: head_end + length]
    return message


@dataclass
class FlakyProxy:
    target_port: int
    port: int = field(default_factory=free_port)
    drop_responses: int = 0
    fail_status: list[int] = field(default_factory=list)
    requests: int = 0
    _listener: socket.socket | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FlakyProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        buffer = bytearray()
        upstream: socket.socket | None = None
        try:
            while True:
                request = _read_message(client, buffer)
                if request is None:
                    return
                with self._lock:
                    self.requests += 1
                    status = self.fail_status.pop(0) if self.fail_status else None
                    drop = self.drop_responses > 0 and status is None
                    if drop:
                        self.drop_responses -= 1
                if status is not None:
                    body = b'{"detail":"injected"}'
                    client.sendall(
                        f"HTTP/1.1 {status} Injected\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {len(body)}\r\n\r\n".encode()
                        + body
                    )
                    continue
                if upstream is None:
                    upstream = socket.create_connection(("127.0.0.1", self.target_port))
                upstream.sendall(request)
                response = _read_message(upstream, bytearray())
                if response is None or drop:
                    return  # the server stored the events; the client never learns it
                client.sendall(response)
        except OSError:
            return
        finally:
            client.close()
            if upstream is not None:
                upstream.close()
