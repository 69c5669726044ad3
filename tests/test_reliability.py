"""Publishing is atomic: a process killed mid-import leaves the old version served, and
screenings running while a version is published each come from one consistent snapshot."""
import subprocess
import sys
import threading

import pytest

from conftest import DATABASE_URL, ROOT, backend_env

OFFICIAL = ROOT / "tests" / "data" / "official_redline_dazu_gk35_gbk.zip"
SITE = ROOT / "tests" / "data" / "site_dazu_jzd.txt"

PUBLISH = """
import sys
sys.path.insert(0, {root!r})
from app import create_app
app = create_app({{"INSTANCE_DIR": {inst!r}, "MEASUREMENTS_DB": ":memory:"}})
result = app.test_cli_runner().invoke(args=["layers", "publish", {path!r}, "--district", "500111", "--kind", "redline", "--yes", "--confirm-change"])
print(result.output)
"""


def publish_in_subprocess(inst, crash_at=None):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(inst), **backend_env(inst)}
    if crash_at:
        env["ZONING_CRASH_AT"] = crash_at
    return subprocess.run([sys.executable, "-c", PUBLISH.format(root=str(ROOT), inst=str(inst), path=str(OFFICIAL))],
                          env=env, capture_output=True, text=True, timeout=300)


CRASH_POINTS = ["inside-publish-transaction"] if DATABASE_URL else ["after-version-file", "before-manifest-swap"]


@pytest.mark.parametrize("crash_at", CRASH_POINTS)
def test_killed_import_leaves_the_previous_version(tmp_path, make_app, crash_at):
    first = publish_in_subprocess(tmp_path)
    assert first.returncode == 0 and "已发布 v0001" in first.stdout, first.stderr[-2000:]
    killed = publish_in_subprocess(tmp_path, crash_at)
    assert killed.returncode == -9  # SIGKILL at the hook point
    app = make_app()  # a restart on the same instance folder
    repo = app.extensions["services"].repository
    assert repo.current_versions() == {"500111/redline": "v0001"}
    assert [v["id"] for v in repo.history()] == ["v0001"]
    publishes = [e for e in app.extensions["services"].audit.entries() if e["action"] == "publish"]
    assert [e["versions"] for e in publishes] == [{"500111/redline": "v0001"}]  # no audit row for the publish that died
    with open(SITE, "rb") as fh:
        body = app.test_client().post("/api/screen", data={"file": (fh, SITE.name)}).get_json()
    assert body["method"]["data"]["layer_versions"]["500111/redline"] == "v0001"
    names = {f["properties"]["name"] for f in app.test_client().get("/api/districts/500111/layers/redline").get_json()["features"]}
    assert names == {"大足区生态保护红线（正式）甲", "大足区生态保护红线（正式）乙"}


@pytest.mark.skipif(bool(DATABASE_URL), reason="the file store's window between manifest and audit row (PostgreSQL: one transaction)")
def test_killed_after_the_manifest_swap_keeps_the_audit_row(tmp_path, make_app, monkeypatch):
    assert publish_in_subprocess(tmp_path).returncode == 0
    killed = publish_in_subprocess(tmp_path, "after-manifest-swap")  # the new version is live, its row still pending
    assert killed.returncode == -9
    monkeypatch.setattr("state.audit.SETTLE_AFTER", __import__("datetime").timedelta(0))  # as if the restart came later
    app = make_app()
    services = app.extensions["services"]
    assert services.repository.current_versions() == {"500111/redline": "v0002"}
    publishes = [e["versions"] for e in services.audit.entries() if e["action"] == "publish"]
    assert publishes == [{"500111/redline": "v0002"}, {"500111/redline": "v0001"}]  # the live version has its row


@pytest.mark.skipif(bool(DATABASE_URL), reason="file store only (PostgreSQL writes no pending rows)")
def test_a_pending_row_of_a_publish_that_never_happened_is_removed(make_app, monkeypatch):
    app = make_app()
    services = app.extensions["services"]
    services.audit.record("someone", "publish", "发布 500111 红线 v0009", {"500111/redline": "v0009"}, pending=True)
    assert [e for e in services.audit.entries() if e["action"] == "publish"] == []  # pending rows are not in the log
    monkeypatch.setattr("state.audit.SETTLE_AFTER", __import__("datetime").timedelta(0))
    services.settle_audit()
    assert services.db.execute("SELECT COUNT(*) FROM audit WHERE action = 'publish'")[0][0] == 0


def test_screenings_during_publish_see_one_version(make_app):
    app = make_app(RATE_LIMIT_PER_MINUTE=100_000)
    runner = app.test_cli_runner()
    site = SITE.read_bytes()

    def overlap(client):
        import io

        body = client.post("/api/screen", data={"file": (io.BytesIO(site), SITE.name)}).get_json()
        red = next(layer for layer in body["layers"] if layer["kind"] == "redline")
        return body["method"]["data"]["layer_versions"]["500111/redline"], red["total_overlap_m2"], red["status"]

    demo = overlap(app.test_client())
    assert runner.invoke(args=["layers", "publish", str(OFFICIAL), "--district", "500111", "--kind", "redline", "--yes",
                               "--confirm-change"]).exit_code == 0
    official = overlap(app.test_client())
    expected = {demo[0]: demo[1:], official[0]: official[1:]}
    assert demo[1] != official[1]

    results, errors = [], []
    stop = threading.Event()

    def worker():
        client = app.test_client()
        while not stop.is_set():
            try:
                results.append(overlap(client))
            except Exception as exc:  # collected and asserted below
                errors.append(repr(exc))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for i in range(4):  # flip between the demo and the official version while requests run
        runner.invoke(args=["layers", "rollback", "--district", "500111", "--kind", "redline", "--to", "demo" if i % 2 == 0 else "v0001"])
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) > 6
    for version, total, status in results:
        assert (total, status) == expected[version]  # the numbers always match the version the response names
