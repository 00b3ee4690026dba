"""A local fake of Brevo's transactional SMS endpoint for the messaging benchmark: answers like Brevo
(201 {"messageId": n}) and counts what it received, so the run can show zero lost and zero duplicates.

    python bench/fake_sms.py --port 8799      # then GET /stats, POST /reset
"""

from __future__ import annotations

import argparse
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SEND_PATH = "/v3/transactionalSMS/send"  # messaging.sms.brevo.SEND_PATH
SEND_PATHS = (SEND_PATH, "/v3/transactionalSMS/sms")  # and the deprecated endpoint, same body


class Ledger:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with getattr(self, "lock", threading.Lock()):
            self.seen: Counter[tuple[str, str]] = Counter()
            self.next_id = 0

    def record(self, recipient: str, content: str) -> int:
        with self.lock:
            self.seen[(recipient, content)] += 1
            self.next_id += 1
            return self.next_id

    def stats(self) -> dict:
        with self.lock:
            received = sum(self.seen.values())
            return {"received": received, "unique": len(self.seen), "duplicates": received - len(self.seen)}


LEDGER = Ledger()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real provider
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm and the client's delayed
    # ACK hold every answer on a kept-alive connection for 40 ms (a real provider answers at once).
    disable_nagle_algorithm = True

    def log_message(self, *args):  # quiet
        pass

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/stats":
            return self._answer(200, LEDGER.stats())
        return self._answer(404, {"code": "not_found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path == "/reset":
            LEDGER.reset()
            return self._answer(200, {"ok": True})
        if self.path not in SEND_PATHS:
            return self._answer(404, {"code": "not_found"})
        if not self.headers.get("api-key"):
            return self._answer(401, {"code": "unauthorized", "message": "Key not found"})
        try:
            payload = json.loads(raw)
            recipient, content = payload["recipient"], payload["content"]
        except (ValueError, KeyError, TypeError):
            return self._answer(400, {"code": "invalid_parameter", "message": "bad payload"})
        return self._answer(201, {"messageId": LEDGER.record(recipient, content), "smsCount": 1})


def serve(port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8799)
    serve(parser.parse_args().port).serve_forever()
