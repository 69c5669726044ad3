"""Monitoring-section routes, imports and CLI."""
import io

import pytest

from conftest import admin_client, csrf_token, login



@pytest.fixture()
def fresh(make_app):
    """An app with its own measurement database (imports change state)."""
    return make_app()


def test_sections_of_a_district(client):
    body = client.get("/api/sections?district=500110").get_json()
    names = [s["name"] for s in body["sections"]]
    assert names == ["北渡", "寨溪大桥", "石门坎", "扶欢", "温塘"]
    beidu = body["sections"][0]
    assert beidu["level"] == "国控" and beidu["target_class"] == "Ⅲ" and beidu["class_2020"] == "Ⅱ"
    assert beidu["latest_class"] in ("Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ", "Ⅴ", "劣Ⅴ")
    assert beidu["compliant"] == (beidu["latest_class_num"] <= 3)
    assert body["data"]["is_demo"] is True
    assert len(body["periods"]) == 24 and body["period"] == body["periods"][-1]


def test_rollup_matches_a_hand_count(client):
    body = client.get("/api/sections?period=2024-07").get_json()
    rows = body["sections"]
    assessed = [r for r in rows if r["latest_class_num"] is not None]
    good = sum(r["latest_class_num"] <= 3 for r in assessed)
    overall = body["rollup"]["period"]["overall"]
    assert overall["n_assessed"] == len(assessed)
    assert overall["share_class_1_3_pct"] == pytest.approx(good / len(assessed) * 100, abs=0.01)
    with_target = [r for r in assessed if r["target_class_num"]]
    assert overall["compliance_pct"] == pytest.approx(
        sum(r["latest_class_num"] <= r["target_class_num"] for r in with_target) / len(with_target) * 100, abs=0.01)


def test_period_and_district_errors(client):
    assert client.get("/api/sections?district=999999").status_code == 404
    resp = client.get("/api/sections?period=2024-13")
    assert resp.status_code == 400 and "YYYY-MM" in resp.get_json()["error"]


def test_series(client):
    body = client.get("/api/sections/500110:北渡/series").get_json()
    assert len(body["monthly"]) == 24 and len(body["annual"]) == 2
    assert body["target_limits"]["NH3-N"] == 1.0  # Ⅲ类 limit
    assert client.get("/api/sections/500110:nowhere/series").status_code == 404


def test_classify_calculator(client):
    body = client.post("/api/sections/classify", json={"water_body": "river", "values": {
        "DO": 6.2, "CODMn": 3.1, "COD": 18, "BOD5": 3.5, "NH3-N": 0.8, "TP": 0.12, "pH": 7.6}}).get_json()
    # by hand: DO 6.2 Ⅱ, CODMn 3.1 Ⅱ, COD 18 Ⅲ, BOD5 3.5 Ⅲ, NH3-N 0.8 Ⅲ, TP 0.12 Ⅲ (river), pH Ⅰ → Ⅲ
    assert body["class"] == "Ⅲ" and body["class_num"] == 3
    assert set(body["deciding_parameters"]) == {"COD", "BOD5", "NH3-N", "TP"}
    lake = client.post("/api/sections/classify", json={"water_body": "lake", "values": {"TP": 0.12}}).get_json()
    assert lake["class"] == "Ⅴ"  # 0.1 < 0.12 ≤ 0.2 for lakes
    bad = client.post("/api/sections/classify", json={"water_body": "river", "values": {"Hg": 0.1}})
    assert bad.status_code == 400 and "Hg" in bad.get_json()["error"]


CSV_GOOD = "adcode,section,date,DO,NH3-N,TP\n500110,北渡,2026-01-15,7.8,0.4,0.05\n"


def test_import_needs_an_administrator(fresh):
    client = fresh.test_client()
    resp = client.post("/api/sections/measurements", data={"file": (io.BytesIO(CSV_GOOD.encode()), "m.csv")})
    assert resp.status_code in (400, 401)  # CSRF token or login missing: nothing imported either way
    fresh.extensions["services"].accounts.create("reviewer1", "reviewer password", "reviewer")
    login(client, "reviewer1", "reviewer password")
    resp = client.post("/api/sections/measurements", data={"file": (io.BytesIO(CSV_GOOD.encode()), "m.csv")},
                       headers={"X-CSRFToken": csrf_token(client, "/")})
    assert resp.status_code == 403


def test_import_with_one_bad_row_is_refused_whole(fresh):
    client = admin_client(fresh)
    token = csrf_token(client, "/")
    before = len(client.get("/api/sections/500110:北渡/series").get_json()["monthly"])
    text = CSV_GOOD + "500110,北渡,2026-02-15,7.5,abc,0.05\n500110,寨溪大桥,2026-02-15,7.5,0.3,0.04\n"
    resp = client.post("/api/sections/measurements", data={"file": (io.BytesIO(text.encode()), "m.csv")}, headers={"X-CSRFToken": token})
    assert resp.status_code == 400
    errors = resp.get_json()["details"]["errors"]
    assert [e["row"] for e in errors] == [3] and errors[0]["column"] == "NH3-N"
    assert len(client.get("/api/sections/500110:北渡/series").get_json()["monthly"]) == before
    page = client.post("/districts/500110/sections/import", data={"file": (io.BytesIO(text.encode()), "m.csv"), "csrf_token": token})
    assert page.status_code == 400 and "NH3-N" in page.get_data(as_text=True)


def test_import_good_file_and_data_is_marked_mixed(fresh):
    client = admin_client(fresh)
    resp = client.post("/api/sections/measurements", data={"file": (io.BytesIO(CSV_GOOD.encode("gbk")), "m.csv")},
                       headers={"X-CSRFToken": csrf_token(client, "/")})
    assert resp.status_code == 200 and resp.get_json()["n_records"] == 1
    body = client.get("/api/sections?district=500110&period=2026-01").get_json()
    beidu = body["sections"][0]
    # by hand: DO 7.8 Ⅰ, NH3-N 0.4 Ⅱ, TP 0.05 Ⅱ (river) → Ⅱ, decided by NH3-N and TP
    assert beidu["latest_class"] == "Ⅱ" and sorted(beidu["deciding_parameters"]) == ["NH3-N", "TP"]
    assert body["data"]["is_demo"] is True and body["data"]["is_mixed"] is True  # demo values remain elsewhere
    assert body["data"]["imported_values"] == 3


def test_cli_import_and_report(fresh, tmp_path):
    runner = fresh.test_cli_runner()
    bad = tmp_path / "bad.csv"
    bad.write_text(CSV_GOOD + "500110,不存在的断面,2026-02-15,7.5,0.3,0.05\n", encoding="utf-8")
    result = runner.invoke(args=["sections", "import", str(bad)])
    assert result.exit_code != 0 and "第 3 行" in result.output
    good = tmp_path / "good.csv"
    good.write_text(CSV_GOOD, encoding="utf-8")
    assert runner.invoke(args=["sections", "import", str(good)]).exit_code == 0
    out = tmp_path / "report.xlsx"
    result = runner.invoke(args=["sections", "report", "--district", "500110", "--out", str(out)])
    assert result.exit_code == 0 and "北渡" in result.output
    assert out.read_bytes()[:2] == b"PK"


def test_sections_page(client):
    html = client.get("/districts/500110/sections").get_data(as_text=True)
    assert "北渡" in html and "示意数据" in html and "地表水水质达到或优于Ⅲ类比例" in html


# --- 超标倍数 shown (issue 9) ---------------------------------------------------------------------
# 木瓜洞 (涪陵, 国控, target Ⅲ) has one 2024-07 sample (data/demo_measurements.csv): NH3-N 1.208 mg/L. GB 3838 Table 1
# puts NH3-N 1.208 in Ⅳ (1.0 < 1.208 ≤ 1.5); against the Ⅲ limit Cs = 1.0 the multiple is (1.208 − 1.0) / 1.0 = 0.208.
MUGUADONG_RATIO = round((1.208 - 1.0) / 1.0, 3)


def test_exceedance_multiple_in_the_api_and_the_table(client):
    body = client.get("/api/sections?district=500102&period=2024-07").get_json()
    row = next(r for r in body["sections"] if r["name"] == "木瓜洞")
    assert (row["latest_class"], row["compliant"], row["deciding_parameters"]) == ("Ⅳ", False, ["NH3-N"])
    assert row["exceedance"] == {"NH3-N": pytest.approx(MUGUADONG_RATIO)} and MUGUADONG_RATIO == 0.208
    assert row["exceedance_text"] == "NH3-N 0.208 倍"
    ok = next(r for r in body["sections"] if r["name"] == "清溪场")
    assert ok["compliant"] is True and ok["exceedance"] == {} and ok["exceedance_text"] == ""
    html = client.get("/districts/500102/sections?period=2024-07").get_data(as_text=True)
    assert '<td class="exceedance">NH3-N 0.208 倍</td>' in html
    # the map popup gets the same row (sections_map.js shows exceedance_text)
    assert '"exceedance_text": "NH3-N 0.208 \\u500d"' in html  # tojson escapes non-ASCII


def test_exceedance_multiple_in_the_export(app, tmp_path):
    import csv

    out = tmp_path / "report.csv"
    result = app.test_cli_runner().invoke(args=["sections", "report", "--district", "500102", "--period", "2024-07", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8").lstrip("\ufeff"))))
    assert next(r for r in rows if r["section"] == "木瓜洞")["exceedance"] == "NH3-N 0.208 倍"
    assert next(r for r in rows if r["section"] == "清溪场")["exceedance"] == ""
