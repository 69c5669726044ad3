"""Shares kept with their inputs (issue 10, "work at publish time, never on a page request"): a restart reads
every district's figures back from INSTANCE_DIR/derived/shares instead of dissolving the layers again, a
change of any input computes them again, a damaged file is never believed, and with SHARES_PRECOMPUTE the
figures are ready before the first visit to the home page.
"""
import json
import time
from pathlib import Path

import pytest

import services.shares
from conftest import create_app

DAZU = "500111"
OFFICIAL = Path(__file__).parent / "data" / "official_redline_dazu_gk35_gbk.zip"  # the sample official red line (see tests/data)


def app_in(inst, **config):
    return create_app({"INSTANCE_DIR": str(inst), "MEASUREMENTS_DB": str(inst / "m.sqlite"), **config})


def kept_files(inst, adcode=DAZU):
    return sorted((inst / "derived" / "shares").glob(f"{adcode}-*.json"))


def no_computing(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("shares computed although they were kept")

    monkeypatch.setattr(services.shares, "district_shares", refuse)


def test_a_restart_reads_the_figures_back(tmp_path, monkeypatch):
    first = app_in(tmp_path).extensions["services"].live.get().shares.district(DAZU)
    assert len(kept_files(tmp_path)) == 1
    no_computing(monkeypatch)
    again = app_in(tmp_path).extensions["services"].live.get().shares.district(DAZU)
    assert json.loads(json.dumps(first, ensure_ascii=False)) == again  # the same figures, read, not computed
    client = app_in(tmp_path).test_client()
    assert client.get(f"/api/districts/{DAZU}/shares").status_code == 200


def test_a_changed_input_computes_again_and_replaces_the_file(tmp_path, monkeypatch):
    app_in(tmp_path).extensions["services"].live.get().shares.district(DAZU)
    before = kept_files(tmp_path)
    calls = []
    real = services.shares.district_shares
    monkeypatch.setattr(services.shares, "district_shares", lambda *a, **k: calls.append(1) or real(*a, **k))
    result = app_in(tmp_path, AREA_TOLERANCE_PCT=5.0).extensions["services"].live.get().shares.district(DAZU)
    assert calls == [1] and result["indicators"]
    after = kept_files(tmp_path)
    assert len(after) == 1 and after != before  # one file per district: the figures of the inputs in use


def test_a_damaged_file_is_computed_again(tmp_path, monkeypatch):
    first = app_in(tmp_path).extensions["services"].live.get().shares.district(DAZU)
    (path,) = kept_files(tmp_path)
    path.write_text(path.read_text(encoding="utf-8")[: 200], encoding="utf-8")  # cut short, as by a full disk
    again = app_in(tmp_path).extensions["services"].live.get().shares.district(DAZU)
    assert [r["computed_pct"] for r in again["indicators"]] == [r["computed_pct"] for r in first["indicators"]]
    assert json.loads(path.read_text(encoding="utf-8"))["indicators"]  # written whole again


def test_precomputed_before_the_first_visit(tmp_path, monkeypatch):
    app = app_in(tmp_path, SHARES_PRECOMPUTE=True)
    plans = app.extensions["services"].live.get().districts.plans
    deadline = time.time() + 120
    while time.time() < deadline and not all(kept_files(tmp_path, a) for a in plans):
        time.sleep(0.2)
    assert all(kept_files(tmp_path, a) for a in plans), "the start-up warm-up did not finish"
    shares = app.extensions["services"].live.get().shares
    deadline = time.time() + 30  # the last district's figures are in memory a moment after its file is written
    while time.time() < deadline and shares._computing:
        time.sleep(0.05)
    no_computing(monkeypatch)
    assert app.test_client().get("/").status_code == 200  # the home page's badges: read, never computed
    assert app.test_client().get(f"/districts/{DAZU}/shares").status_code == 200


@pytest.mark.parametrize("waiters", [3])
def test_a_district_is_computed_once_however_many_ask(tmp_path, monkeypatch, waiters):
    import threading

    shares = app_in(tmp_path).extensions["services"].live.get().shares
    calls = []
    real = services.shares.district_shares

    def slow(*a, **k):
        calls.append(1)
        time.sleep(0.5)
        return real(*a, **k)

    monkeypatch.setattr(services.shares, "district_shares", slow)
    results = []
    threads = [threading.Thread(target=lambda: results.append(shares.district(DAZU))) for _ in range(waiters)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert calls == [1] and len(results) == waiters and all(r is results[0] for r in results)


def test_a_published_layer_gets_its_own_figures(tmp_path, monkeypatch):
    app = app_in(tmp_path)
    demo = app.extensions["services"].live.get().shares.district(DAZU)
    result = app.test_cli_runner().invoke(args=["layers", "publish", str(OFFICIAL), "--district", DAZU, "--kind", "redline",
                                                "--user", "管理员", "--yes", "--confirm-change"])
    assert result.exit_code == 0, result.output
    official = app.extensions["services"].live.refresh().shares.district(DAZU)
    share = {r["indicator"]: r for r in official["indicators"]}["redline_share"]
    assert share["is_demo"] is False and share["numerator_m2"] != {r["indicator"]: r for r in demo["indicators"]}["redline_share"]["numerator_m2"]
    no_computing(monkeypatch)  # and a restart reads the published version's figures back, not the demo's
    again = app_in(tmp_path).extensions["services"].live.get().shares.district(DAZU)
    assert {r["indicator"]: r for r in again["indicators"]}["redline_share"]["numerator_m2"] == share["numerator_m2"]
