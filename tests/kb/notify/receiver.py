"""A real webhook receiver on 127.0.0.1: verifies signatures like a customer would and answers as scripted."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kb.notify import signing


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it."""

    headers: dict[str, str]
    body: bytes
    verified: bool

    @property
    def json(self) -> Any:
        """The decoded body."""
        return json.loads(self.body)


class Receiver:
    """An HTTP server in a thread; answers the scripted statuses in turn, then 200."""

    def __init__(self, *statuses: int, error_body: str = "接收方内部错误 boom") -> None:
        self.secret = ""
        self.statuses = list(statuses)
        self.error_body = error_body
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        """Where to POST."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/kb"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {name.lower(): value for name, value in self.headers.items()}
                verified = signing.verify(
                    receiver.secret,
                    headers.get("x-kb-timestamp", ""),
                    body,
                    headers.get("x-kb-signature", ""),
                    now=time.time(),
                )
                with receiver._lock:
                    receiver.requests.append(Received(headers, body, verified))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                answer = b"ok" if status < 300 else receiver.error_body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
