"""`python app.py` under slow clients: more half-sent requests than waitress' default connection limit (100) do not
block a normal request, a silent connection is closed after SERVER_CHANNEL_TIMEOUT, and behind a trusted proxy the
rate limit counts the client named in X-Forwarded-For, not the proxy."""
import socket
import time
import urllib.request

import pytest

from conftest import Worker


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    worker = Worker(tmp_path_factory.mktemp("slow"), ZONING_SERVER_CHANNEL_TIMEOUT="3", ZONING_SERVER_CONNECTION_LIMIT="400")
    yield worker
    worker.stop()


def _half_sent(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"POST /api/screen HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n")  # headers never finished
    return s


def test_many_half_sent_requests_do_not_block_a_normal_one(server):
    slow = [_half_sent(server.port) for _ in range(150)]  # more than waitress' default connection_limit of 100
    try:
        started = time.monotonic()
        with urllib.request.urlopen(server.url + "/healthz", timeout=10) as resp:
            assert resp.status == 200
        assert time.monotonic() - started < 3  # answered at once, not after the slow ones time out
    finally:
        for s in slow:
            s.close()


def test_a_silent_connection_is_closed_after_the_channel_timeout(server):
    s = _half_sent(server.port)
    try:
        s.settimeout(20)
        started = time.monotonic()
        assert s.recv(1024) == b""  # the server closed it
        assert time.monotonic() - started < 15  # channel timeout 3 s, checked every cleanup interval
    finally:
        s.close()


def test_x_forwarded_for_counts_only_behind_a_trusted_proxy(make_app):
    """With TRUSTED_PROXIES=0 a forged header changes nothing; with 1 each forwarded client has its own budget."""
    def budget_used(app, forwarded: list[str]) -> list[int]:
        client = app.test_client()
        codes = []
        for ip in forwarded:
            codes.append(client.post("/api/screen", json={"geometry": {"type": "Point", "coordinates": [105.72, 29.70]}},
                                     headers={"X-Forwarded-For": ip}).status_code)
        return codes

    ips = [f"10.0.0.{i}" for i in range(4)]
    assert budget_used(make_app(RATE_LIMIT_PER_MINUTE=2), ips) == [200, 200, 429, 429]  # one client: the header is ignored
    assert budget_used(make_app(RATE_LIMIT_PER_MINUTE=2, TRUSTED_PROXIES=1), ips) == [200, 200, 200, 200]
