"""A scripted HTTP server on 127.0.0.1 standing in for Socrata and Open-Meteo."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # sent as JSON...
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # sleep before answering, to outlast a client's timeout
    raw: bytes | None = None  # ...unless this is set


@dataclass
class Seen:
    path: str
    params: dict[str, str]
    headers: dict[str, str]


class FakeServer:
    """Answers each path from its queue of scripted replies first, then from its route function
    of the query parameters; records every request it gets."""

    def __init__(self) -> None:
        self.routes: dict[str, Callable[[dict[str, str]], Reply]] = {}
        self.queued: dict[str, list[Reply]] = {}
        self.seen: list[Seen] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def queue(self, path: str, *replies: Reply) -> None:
        self.queued.setdefault(path, []).extend(replies)

    def requests_to(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]

    def _reply(self, path: str, params: dict[str, str]) -> Reply:
        if self.queued.get(path):
            return self.queued[path].pop(0)
        if path in self.routes:
            return self.routes[path](params)
        return Reply(404, {"error": True, "message": f"no route {path}"})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                params = dict(parse_qsl(url.query, keep_blank_values=True))
                server.seen.append(Seen(url.path, params, dict(self.headers)))
                reply = server._reply(url.path, params)
                time.sleep(reply.delay_s)
                body = json.dumps(reply.body).encode() if reply.raw is None else reply.raw
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting, as the timeout tests intend

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def __enter__(self) -> FakeServer:
        threading.Thread(target=self._httpd.serve_forever, args=(0.01,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as running:
        yield running
