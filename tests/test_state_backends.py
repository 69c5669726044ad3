"""State that outlives a process and is shared between processes, on both backends.

Embedded (default): results, accounts, audit, measurements and sessions survive a restart on the
same instance folder. PostgreSQL (ZONING_DATABASE_URL): the same, plus several worker processes
against one database see each other's publishes, share rate limits and staged uploads, and a
database that goes away gives 503 and comes back by itself. The comparison test runs the same
publish and screenings on both backends and compares every reported figure.
"""
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import pytest

import conftest
from conftest import DATABASE_URL, ROOT, _free_port, admin_client, backend_env, create_app, csrf_token

OFFICIAL = ROOT / "tests" / "data" / "official_redline_dazu_gk35_gbk.zip"
SITE = ROOT / "tests" / "data" / "site_dazu_jzd.txt"
MEASUREMENTS_CSV = "adcode,section,date,DO,NH3-N,TP\n500110,北渡,2026-01-15,7.8,0.4,0.05\n".encode()
needs_postgres = pytest.mark.skipif(not DATABASE_URL, reason="PostgreSQL backend only (set ZONING_DATABASE_URL; .ci/postgres starts one)")


def _config(inst, **extra):
    return {"INSTANCE_DIR": str(inst), "MEASUREMENTS_DB": str(inst / "measurements.sqlite"), **extra}


def _screen(client) -> dict:
    return client.post("/api/screen", data={"file": (io.BytesIO(SITE.read_bytes()), SITE.name)}).get_json()


def test_restart_keeps_results_accounts_audit_measurements_and_sessions(tmp_path):
    first = create_app(_config(tmp_path))
    admin = admin_client(first)
    body = _screen(first.test_client())
    rid, links = body["result_id"], body["links"]
    assert len(rid) >= 22  # 128 random bits, not a counter
    token = csrf_token(admin, "/")
    assert admin.post("/api/sections/measurements", data={"file": (io.BytesIO(MEASUREMENTS_CSV), "m.csv")},
                      headers={"X-CSRFToken": token}).status_code == 200
    before_pdf = first.test_client().get(links["pdf"])
    assert before_pdf.status_code == 200
    audit_before = first.extensions["services"].audit.entries()
    cookie = admin.get_cookie("session")
    del first

    again = create_app(_config(tmp_path))  # a restart: a new process state on the same instance folder / database
    fresh = again.test_client()
    page = fresh.get(links["html"])
    assert page.status_code == 200 and "初筛" in page.get_data(as_text=True)
    for fmt in ("pdf", "xlsx", "csv", "json"):
        resp = fresh.get(links[fmt])
        assert resp.status_code == 200, fmt
    assert json.loads(fresh.get(links["json"]).get_data())["layers"] == body["layers"]  # the same answer, not a recomputation
    services = again.extensions["services"]
    assert services.accounts.verify("admin_test", "correct horse battery")["role"] == "admin"
    assert services.audit.entries() == audit_before
    assert [i["source_name"] for i in services.live.measurements.imports()][-1] == "m.csv"
    assert services.live.measurements.latest("500110-北渡") or services.live.measurements.periods()
    # the session cookie from before the restart still logs the administrator in
    returning = again.test_client()
    returning.set_cookie("session", cookie.value)
    assert returning.get("/admin/").status_code == 200
    # an unknown or guessed id is a clear 404, not someone else's result
    assert fresh.get("/screen/results/" + rid[:-1] + ("A" if rid[-1] != "A" else "B")).status_code == 404


def test_results_keep_the_layer_versions_they_used(tmp_path):
    app = create_app(_config(tmp_path))
    body = _screen(app.test_client())
    stored = app.extensions["services"].db.execute("SELECT layer_versions FROM results WHERE id = ?", (body["result_id"],))
    assert json.loads(stored[0][0]) == body["method"]["data"]["layer_versions"]


# ---------------------------------------------------------------- PostgreSQL: several workers


class Worker(conftest.Worker):
    """A server process that screens the 大足 site file."""

    def screen(self) -> tuple:
        boundary = "zoningtest"
        data = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{SITE.name}\"\r\n\r\n").encode() \
            + SITE.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
        req = urllib.request.Request(self.url + "/api/screen", data=data, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            body = json.loads(resp.read())
        red = next(layer for layer in body["layers"] if layer["kind"] == "redline")
        return body["method"]["data"]["layer_versions"]["500111/redline"], red["total_overlap_m2"], red["status"]


def _cli(inst, *args) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(inst), "ZONING_INSTANCE_DIR": str(inst),
           "ZONING_MEASUREMENTS_DB": str(inst / "m.sqlite"), **backend_env(inst)}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=str(ROOT), env=env, capture_output=True,
                          text=True, timeout=300)


@needs_postgres
def test_two_workers_see_one_publish_and_answer_from_one_version(tmp_path):
    a, b = Worker(tmp_path), Worker(tmp_path)
    try:
        demo = b.screen()
        assert demo[0].startswith("demo")
        answers, errors = [], []

        def screen_during():
            try:
                answers.append(b.screen() if len(answers) % 2 else a.screen())
            except Exception as exc:  # collected and asserted below
                errors.append(repr(exc))

        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(screen_during) for _ in range(20)]
            published = _cli(tmp_path, "layers", "publish", str(OFFICIAL), "--district", "500111", "--kind", "redline", "--yes",
                             "--confirm-change")
            for f in futures:
                f.result()
        assert published.returncode == 0, published.stderr[-2000:]
        assert "已发布 v0001" in published.stdout
        official_b, official_a = b.screen(), a.screen()  # both workers' next request: the new version
        assert official_b == official_a and official_b[0] == "v0001" and official_b[1] != demo[1]
        assert b.get("/healthz")["data"]["published"] == {"500111/redline": "v0001"}
        expected = {demo[0]: demo[1:], official_b[0]: official_b[1:]}
        assert errors == [] and len(answers) == 20
        for version, total, status in answers:
            assert (total, status) == expected[version]  # every answer's figures belong to the one version it names
        # a switch back made on one worker is served by the other on its next request
        assert _cli(tmp_path, "layers", "rollback", "--district", "500111", "--kind", "redline", "--to", "demo").returncode == 0
        assert a.screen() == demo and b.screen() == demo
    finally:
        a.stop()
        b.stop()


@needs_postgres
def test_rate_limit_staging_and_sessions_are_shared_between_workers(tmp_path):
    one = create_app(_config(tmp_path, RATE_LIMIT_PER_MINUTE=3))
    two = create_app(_config(tmp_path, RATE_LIMIT_PER_MINUTE=3))
    assert _screen(one.test_client())["layers"] and _screen(two.test_client())["layers"]
    assert _screen(one.test_client())["layers"]
    refused = two.test_client().post("/api/screen", data={"file": (io.BytesIO(SITE.read_bytes()), SITE.name)})
    assert refused.status_code == 429 and "每分钟最多 3 次" in refused.get_json()["error"]

    # an upload staged on one worker is reviewed and published on the other
    other = create_app(_config(tmp_path))
    third = create_app(_config(tmp_path))
    admin = admin_client(other)
    token = csrf_token(admin, "/admin/")
    staged = admin.post("/admin/import", data={"file": (io.BytesIO(OFFICIAL.read_bytes()), OFFICIAL.name), "district": "500111",
                                               "kind": "redline", "csrf_token": token})
    assert staged.status_code in (302, 303)
    path = urlsplit(staged.headers["Location"]).path
    elsewhere = third.test_client()
    elsewhere.set_cookie("session", admin.get_cookie("session").value)  # one login, honoured by every worker
    review = elsewhere.get(path)
    assert review.status_code == 200 and "校验" in review.get_data(as_text=True)
    item = path.rstrip("/").split("/")[-1]  # the review's confirmation code, as the page shows it
    from services import layer_admin

    code = layer_admin.review(third.extensions["services"], item)[2]["confirm_code"]
    done = elsewhere.post(path + "/publish", data={"csrf_token": csrf_token(elsewhere, path), "confirm_change": code or ""})
    assert done.status_code in (200, 302, 303), done.get_data(as_text=True)[:500]
    assert other.extensions["services"].repository.current_versions() == {"500111/redline": "v0001"}


class Proxy:
    """A TCP forwarder to the test database that can be cut and restored: the database 'going away'."""

    def __init__(self, target):
        self.target = target
        self.port = _free_port()
        self.conns = []
        self.start()

    def start(self):
        self.server = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while self.running:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX) if isinstance(self.target, str) else socket.socket()
            upstream.connect(self.target)
            self.conns += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass

    def cut(self):
        self.running = False
        self.server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone would leave it listening
        self.server.close()
        for s in self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass
        self.conns = []


@needs_postgres
def test_database_gone_gives_503_and_recovers(tmp_path):
    parts = urlsplit(DATABASE_URL)
    socket_dir = parse_qs(parts.query).get("host", [None])[0]
    port = parts.port or 5432
    target = f"{socket_dir}/.s.PGSQL.{port}" if socket_dir else (parts.hostname, port)
    proxy = Proxy(target)
    url = f"postgresql://{parts.username or 'postgres'}@127.0.0.1:{proxy.port}{parts.path}"
    app = create_app(_config(tmp_path, DATABASE_URL=url))
    client = app.test_client()
    assert client.get("/api/districts").status_code == 200
    admin = admin_client(app)  # a logged-in reviewer's pages need the database for the header too
    proxy.cut()
    try:
        down = client.get("/api/districts")
        assert down.status_code == 503
        assert "数据库暂时无法连接" in down.get_json()["error"] and down.get_json()["error_en"]
        page = client.get("/")
        assert page.status_code == 503 and "数据库暂时无法连接" in page.get_data(as_text=True)
        logged_in = admin.get("/admin/")
        assert logged_in.status_code == 503 and "数据库暂时无法连接" in logged_in.get_data(as_text=True)
    finally:
        proxy.start()
    deadline = time.time() + 30
    while client.get("/api/districts").status_code != 200:
        assert time.time() < deadline, "did not recover"
        time.sleep(0.5)
    assert _screen(client)["layers"]


# ---------------------------------------------------------------- the same answers on both backends


def _answers(app) -> dict:
    client = app.test_client()
    admin = admin_client(app)
    assert app.test_cli_runner().invoke(args=["layers", "publish", str(OFFICIAL), "--district", "500111", "--kind", "redline", "--yes",
                                              "--confirm-change"]).exit_code == 0
    screened = _screen(client)
    for volatile in ("result_id", "links"):
        screened.pop(volatile)
    polygon = {"type": "Polygon", "coordinates": [[[105.70, 29.68], [105.78, 29.68], [105.78, 29.74], [105.70, 29.74], [105.70, 29.68]]]}
    drawn = client.post("/api/screen", json={"geometry": polygon}).get_json()
    for volatile in ("result_id", "links"):
        drawn.pop(volatile)
    shares = client.get("/api/districts/500111/shares").get_json()
    sections = admin.get("/api/sections?district=500110").get_json()
    layer = client.get("/api/districts/500111/layers/redline").get_json()
    return json.loads(json.dumps({"screen": screened, "drawn": drawn, "shares": shares, "sections": sections, "layer": layer}))


def _without(obj, keys=("source", "created_at", "generated_at", "checked_at", "imported_at")):
    """Drop the fields that name when and from what file a version was made (different by construction)."""
    if isinstance(obj, dict):
        return {k: _without(v, keys) for k, v in obj.items() if k not in keys}
    if isinstance(obj, list):
        return [_without(v, keys) for v in obj]
    return obj


@needs_postgres
def test_both_backends_give_the_same_answers(tmp_path):
    postgres = _answers(create_app(_config(tmp_path / "pg")))
    embedded = _answers(create_app({**_config(tmp_path / "files"), "DATABASE_URL": None}))
    assert postgres["screen"]["method"]["data"]["layer_versions"]["500111/redline"] == "v0001"
    assert _without(postgres) == _without(embedded)


def test_state_files_are_private(tmp_path):
    """Password hashes, the audit log and measurements: readable by the service's account only."""
    inst = tmp_path / "fresh_instance"
    create_app(_config(inst))
    assert inst.stat().st_mode & 0o777 == 0o700
    files = [] if DATABASE_URL else [inst / "app.sqlite", inst / "measurements.sqlite", inst / "secret_key"]
    for path in files:
        assert path.stat().st_mode & 0o777 == 0o600, path
