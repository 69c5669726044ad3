"""A full disk: writes are refused with a clear 503 (nothing half-written survives), reads keep working.

The state database is made really full (SQLite's max_page_count caps the file at its present size, so SQLite itself
answers SQLITE_FULL, as on a full disk); a layer publish meets an injected ENOSPC from the file writes."""
import errno
import io

import pytest

from conftest import DATABASE_URL, ROOT
from geo.errors import StorageFullError

SITE = ROOT / "tests" / "data" / "site_dazu_jzd.txt"
OFFICIAL = ROOT / "tests" / "data" / "official_redline_dazu_gk35_gbk.zip"
pytestmark = pytest.mark.skipif(bool(DATABASE_URL), reason="the embedded store's files (PostgreSQL: DiskFull is mapped alike)")


def screen(client):
    return client.post("/api/screen", data={"file": (io.BytesIO(SITE.read_bytes()), SITE.name)})


def fill(db, full: bool) -> None:
    with db._lock:
        conn = db._conn
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages if full else 2**30}")


def test_a_full_database_refuses_writes_clearly_and_keeps_reads(make_app):
    app = make_app(RATE_LIMIT_PER_MINUTE=100_000)
    client = app.test_client()
    before = screen(client)
    assert before.status_code == 200
    result_page = f"/screen/results/{before.get_json()['result_id']}"
    services = app.extensions["services"]
    screens = lambda: sum(e["action"] == "screen" for e in services.audit.entries())  # noqa: E731
    audit_rows = screens()
    results = services.db.execute("SELECT COUNT(*) FROM results")[0][0]
    fill(services.db, full=True)
    try:
        refused = screen(client)
        body = refused.get_json()
        assert refused.status_code == 503 and "存储空间已满" in body["error"] and "storage is full" in body["error_en"]
        for path in ("/", "/districts/500111", "/districts/500111/shares", "/districts/500111/sections", result_page,
                     result_page + ".json", "/api/districts/500111/shares", "/healthz"):
            assert client.get(path).status_code == 200, path  # reads go on; their audit rows are logged instead
    finally:
        fill(services.db, full=False)
    assert services.db.execute("SELECT COUNT(*) FROM results")[0][0] == results  # nothing half-written
    assert screens() == audit_rows  # the refused screening has no audit row, as it has no result
    assert screen(client).status_code == 200  # space again: writes work again


@pytest.mark.parametrize("at", ["version file", "manifest"])
def test_a_publish_on_a_full_disk_leaves_nothing_behind(make_app, monkeypatch, at):
    import layers.versions as versions

    app = make_app()
    services = app.extensions["services"]
    runner = app.test_cli_runner()
    publish = ["layers", "publish", str(OFFICIAL), "--district", "500111", "--kind", "redline", "--yes", "--confirm-change"]
    assert runner.invoke(args=publish).exit_code == 0
    root = services.repository.root
    files = sorted(p.name for p in root.rglob("*"))
    manifest = (root / "manifest.json").read_text(encoding="utf-8") if (root / "manifest.json").exists() else None

    def no_space(*args, **kwargs):
        path = args[1] if at == "version file" else args[1].name
        with open(path, "ab") as fh:
            fh.write(b"\0" * 4096)  # what a write that ran out of space leaves: part of a file
        raise OSError(errno.ENOSPC, "No space left on device")

    if at == "version file":
        monkeypatch.setattr(versions.pyogrio, "write_dataframe", no_space)
    else:
        monkeypatch.setattr(versions.json, "dump", no_space)
    result = runner.invoke(args=publish)
    assert result.exit_code != 0
    assert "存储空间已满" in result.output or isinstance(result.exception, StorageFullError), result.output
    monkeypatch.undo()
    assert sorted(p.name for p in root.rglob("*")) == files  # no partial version file, no orphan version
    assert ((root / "manifest.json").read_text(encoding="utf-8") if manifest is not None else None) == manifest
    assert services.repository.current_versions() == {"500111/redline": "v0001"}
    assert services.db.execute("SELECT COUNT(*) FROM audit WHERE action = 'publish'")[0][0] == 1  # no pending row left


def test_gdal_and_os_disk_full_errors_are_recognised():
    from geo.errors import is_disk_full

    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(RuntimeError("sqlite3_exec(COMMIT) failed: No space left on device"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
