"""A measurement import killed at any step (SIGKILL: no clean-up runs) leaves the audit log and the stored data
consistent after a restart: the import is there exactly when its audit row is. Every hook point of the import is
tried, for water sections and for air stations, and the kill after the publish's manifest swap is covered in
test_reliability.py."""
import json
import subprocess
import sys

import pytest

from conftest import ROOT, backend_env

WATER = "adcode,section,date,DO,NH3-N,TP\n500110,北渡,2026-01-15,7.8,0.4,0.05\n"
AIR = ROOT / "tests" / "data" / "air" / "platform_daily_gbk.csv"
POINTS = ["before-measurement-import", "after-measurement-import"]

IMPORT = """
import sys
sys.path.insert(0, {root!r})
from app import create_app
app = create_app({{"INSTANCE_DIR": {inst!r}, "MEASUREMENTS_DB": {inst!r} + "/measurements.sqlite"}})
result = app.test_cli_runner().invoke(args=[{group!r}, "import", {path!r}])
print(result.output)
"""


def run_import(inst, group: str, path, crash_at=None):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(inst), **backend_env(inst)}
    if crash_at:
        env["ZONING_CRASH_AT"] = crash_at
    return subprocess.run([sys.executable, "-c", IMPORT.format(root=str(ROOT), inst=str(inst), group=group, path=str(path))],
                          env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("group", ["sections", "air"])
@pytest.mark.parametrize("crash_at", POINTS + [None])
def test_a_killed_import_and_its_audit_row_are_all_or_nothing(tmp_path, make_app, monkeypatch, group, crash_at):
    path = AIR if group == "air" else tmp_path / "water.csv"
    if group == "sections":
        path.write_text(WATER, encoding="utf-8")
    action = {"sections": "sections_import", "air": "air_import"}[group]
    done = run_import(tmp_path, group, path, crash_at)
    assert done.returncode == (-9 if crash_at else 0), done.stderr[-2000:]
    monkeypatch.setattr("state.audit.SETTLE_AFTER", __import__("datetime").timedelta(0))  # as if the restart came later
    app = make_app(MEASUREMENTS_DB=str(tmp_path / "measurements.sqlite"))  # a restart on the same instance
    services = app.extensions["services"]
    store = services.live.measurements if group == "sections" else services.live.air_measurements
    sources = [i["source_name"] for i in store.imports()]
    rows = [e for e in services.audit.entries() if e["action"] == action]
    imported = path.name in sources
    assert imported == (crash_at != "before-measurement-import")
    assert len(rows) == int(imported), (crash_at, rows)  # the import has its row, a failed one none
    pending = services.db.execute("SELECT COUNT(*) FROM audit WHERE pending = 1")[0][0]
    assert pending == 0
    if imported:
        versions = rows[0]["versions"] if isinstance(rows[0]["versions"], dict) else json.loads(rows[0]["versions"])
        assert "audit_token" not in versions and "条" in rows[0]["summary"]  # completed with what was imported


def test_an_import_whose_pending_row_was_settled_away_meanwhile_is_still_audited(make_app):
    """A long import while another worker starts: that worker's settle removes the row it cannot match yet (older than
    SETTLE_AFTER, no import with its token committed); the import, once done, writes its row anew."""
    from services.context import Actor

    services = make_app().extensions["services"]

    def run(token):
        services.db.execute("DELETE FROM audit WHERE pending = 1")  # what the other worker's settle did
        return {"import_id": 7, "n_records": 3}

    services.record_import(Actor("reviewer_a", "admin"), "sections_import", "w.csv", b"x", run,
                           lambda done: (f"导入监测数据 {done['n_records']} 条（w.csv）", {"measurements_import": done["import_id"]}))
    rows = [e for e in services.audit.entries() if e["action"] == "sections_import"]
    assert len(rows) == 1 and rows[0]["summary"] == "导入监测数据 3 条（w.csv）" and rows[0]["username"] == "reviewer_a"
