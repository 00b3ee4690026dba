"""In-process companion of bench/tenancy.py: CPU time of one request through the WSGI handler.

Run as ``DJANGO_SETTINGS_MODULE=bench.<x>_settings python bench/wsgi_loop.py HOST N REPEATS``;
prints the best CPU microseconds per request over REPEATS batches of N. No network, no server,
and CPU time rather than wall time, so other load on the machine hardly moves the figure.
"""

import io
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
warnings.simplefilter("ignore")


def main() -> None:
    host, count, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()

    def environ():
        return {
            "REQUEST_METHOD": "GET", "PATH_INFO": "/bench/ping/", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": host, "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr, "wsgi.version": (1, 0),
            "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": False,
        }

    statuses = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    def batch(n):
        for _ in range(n):
            body = application(environ(), start_response)
            b"".join(body)
            body.close()

    batch(200)
    if statuses[-1] != "200 OK":
        raise SystemExit(f"unexpected status {statuses[-1]}")
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        batch(count)
        best = min(best, (time.process_time() - start) / count)
    print(f"{best * 1e6:.1f}")


if __name__ == "__main__":
    main()
