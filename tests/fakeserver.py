"""A scripted HTTP server on 127.0.0.1 for offline tests: it replays bodies and misbehaves on
purpose (truncated bodies, dropped connections, 429, 5xx, slowness, ETags, Range)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeServer:
    def __init__(self):
        self.plans: dict[str, list[dict]] = defaultdict(list)
        self.files: dict[str, dict] = {}
        self.requests: list[tuple[str, dict]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802 - the stdlib's name
                path = self.path.split("?")[0]
                server.requests.append((self.path, dict(self.headers)))
                plan = server.plans[path].pop(0) if server.plans[path] else {}
                if plan.get("delay"):
                    time.sleep(plan["delay"])
                status = plan.get("status", 200)
                if status != 200:
                    body = plan.get("body", b"erreur")
                    self.send_response(status)
                    for k, v in plan.get("headers", {}).items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                f = server.files.get(path, {"body": plan.get("body", b""), "etag": None})
                body, etag = plan.get("body", f["body"]), f.get("etag")
                if etag and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start = 0
                rng = self.headers.get("Range")
                if rng and f.get("ranges") and (not self.headers.get("If-Range") or self.headers["If-Range"] == etag):
                    start = int(rng.split("=")[1].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                if etag:
                    self.send_header("ETag", etag)
                self.send_header("Last-Modified", "Wed, 01 Oct 2025 00:00:00 GMT")
                if f.get("ranges"):
                    self.send_header("Accept-Ranges", "bytes")
                chunk = body[start:]
                self.send_header("Content-Length", str(len(chunk)))
                self.end_headers()
                cut = plan.get("cut_after")
                self.wfile.write(chunk[:cut] if cut is not None else chunk)
                if cut is not None:
                    self.wfile.flush()
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
