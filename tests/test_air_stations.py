"""The air-quality service end to end: a district's stations on a day, the HJ 663 year, the district value from
its 评价城市点 (station mean first, micro-stations left out) against the plan's PM2.5 and 优良天数 targets, the
page, the API and the CLI. Expected figures are computed here by hand or with numpy from the imported values."""
import io
from datetime import date, timedelta

import numpy as np
import pytest
from conftest import admin_client, login

from geo.air.plan import compare_with_plan

DAZU_CITY = ("500111-air_station-001", "500111-air_station-002")  # 国控 and 市控 评价城市点 of the demo layer
DAZU_MICRO = "500111-air_station-003"
YUNYANG_CITY = "500235-air_station-001"
LOW = {"PM10": 20, "SO2": 5, "NO2": 10, "CO": 0.4, "O3_8h": 60}  # every IAQI ≤ 50 with PM2.5 ≤ 35 (HJ 633-2012)


def year_days(year: int) -> list[str]:
    d, out = date(year, 1, 1), []
    while d.year == year:
        out.append(d.isoformat())
        d += timedelta(days=1)
    return out


def csv_file(rows: list[tuple[str, str, dict]]) -> bytes:
    keys = ("PM2.5", "PM10", "SO2", "NO2", "CO", "O3_8h")
    lines = ["站点,日期," + ",".join(keys)]
    lines += [f"{sid},{day}," + ",".join("" if v.get(k) is None else f"{v[k]:g}" for k in keys) for sid, day, v in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def post(client, name: str, data: bytes):
    return client.post("/api/air/measurements", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data",
                       headers={"X-CSRFToken": _token(client)})


def _token(client):
    import re

    return re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").get_data(as_text=True)).group(1)


@pytest.fixture()
def dazu_2023(make_app):
    """2023 for 大足: the two 城市点 stations with 300 clean days and 65 days of PM2.5 150 µg/m³ (IAQI 200, 中度污染);
    on clean days station 001 has PM2.5 10 and 002 has 30 (city mean 20). A micro-station reads 500 every day."""
    app = make_app()
    days = year_days(2023)
    rows = []
    for i, day in enumerate(days):
        dirty = i >= 300
        rows.append((DAZU_CITY[0], day, {**LOW, "PM2.5": 150 if dirty else 10}))
        rows.append((DAZU_CITY[1], day, {**LOW, "PM2.5": 150 if dirty else 30}))
        rows.append((DAZU_MICRO, day, {**LOW, "PM2.5": 500}))
    client = admin_client(app)
    resp = post(client, "dazu_2023.csv", csv_file(rows))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["n_records"] == 3 * 365
    return app, client, rows


def test_district_value_is_the_mean_of_its_city_stations_against_the_plan(dazu_2023):
    app, client, rows = dazu_2023
    body = client.get("/api/districts/500111/air?year=2023&date=2023-12-31").get_json()
    annual = body["annual"]
    assert annual["year"] == 2023 and 2023 in annual["years"]
    # the city's daily PM2.5: mean of the two 城市点 each day; then the annual mean, rounded to an integer (GB/T 8170)
    city_daily = [np.mean([v["PM2.5"] for sid, d, v in rows if d == day and sid in DAZU_CITY]) for day in year_days(2023)]
    expected_pm25 = round(float(np.mean(city_daily)))  # (300 × 20 + 65 × 150) / 365 = 43.15
    assert expected_pm25 == 43
    assert annual["city"]["stations"] == ["大足区城区国控空气自动监测站（龙岗街道）", "大足区双桥空气自动监测站"]
    pm = next(s for s in annual["city"]["statistics"] if s["pollutant"] == "PM2.5" and s["statistic_zh"] == "年平均")
    assert pm["value"] == expected_pm25 and pm["limit"] == 35 and pm["row_status"] == "未达标"
    assert annual["city"]["good_days"] == 300 and annual["city"]["valid_aqi_days"] == 365
    assert annual["city"]["good_days_ratio"] == 82.2  # 300 / 365 = 82.19 %
    by_key = {c["key"]: c for c in annual["plan_indicators"]}
    # 大足 plan: PM2.5 target '35' (a bare number: at most), 优良天数 '328' 天 (at least); lines 304 and 312
    assert by_key["pm25"]["value"] == 43 and by_key["pm25"]["target"] == {"op": "≤", "value": 35.0}
    assert by_key["pm25"]["status"] == "未达标" and by_key["pm25"]["source_line"] == 304
    assert by_key["pm25"]["value_2020"] == 38.5 and by_key["pm25"]["change_from_2020"] == 4.5
    assert by_key["good_air_days"]["value"] == 300 and by_key["good_air_days"]["value_unit"] == "天"
    assert by_key["good_air_days"]["status"] == "未达标" and by_key["good_air_days"]["source_line"] == 312
    assert "HJ 663-2013" in by_key["pm25"]["standard_zh"]
    # the micro-station is assessed on its own (PM2.5 500: 未达标) but never enters the district value
    micro = next(s for s in annual["stations"] if s["id"] == DAZU_MICRO)
    assert micro["status"] == "未达标" and micro["pm25_annual"] == 500
    # the day: the chosen date's AQI per station, HJ 633-2012 for 2023
    day = body["day"]
    assert day["date"] == "2023-12-31" and day["edition"]["standards"]["aqi"] == "HJ 633-2012"
    s1 = next(s for s in day["stations"] if s["id"] == DAZU_CITY[0])
    assert s1["aqi"] == 200 and s1["category"] == "中度污染"  # PM2.5 150 is the 2012 breakpoint for IAQI 200


def test_a_percentage_target_met_and_the_2020_value_quoted(make_app):
    """云阳: '≥95' % and a 2020 value '【95】' (a five-year mean, quoted, no change computed)."""
    app = make_app()
    days = year_days(2023)
    rows = [(YUNYANG_CITY, day, {**LOW, "PM2.5": 150 if i < 15 else 20}) for i, day in enumerate(days)]
    client = admin_client(app)
    assert post(client, "yunyang.csv", csv_file(rows)).status_code == 200
    row = client.get("/api/districts/500235/air?year=2023").get_json()["annual"]["plan_indicators"][0]
    assert row["key"] == "good_air_days" and row["value_unit"] == "%"
    assert row["value"] == round(100 * 350 / 365, 1) == 95.9
    assert row["status"] == "达标" and row["value_2020_text"] == "【95】" and row["change_from_2020"] is None


def _result(year=2025, pm25=None, good_days=None, ratio=None):
    stats = [{"statistic": "annual_mean", "value": pm25, "validity": {"ok": pm25 is not None}}]
    return {"year": year, "good_days": good_days, "good_days_ratio": ratio, "standard_zh": "HJ 663-2013",
            "pollutants": {"PM2.5": {"statistics": stats}}}


def _plan(*indicators):
    return {"indicators": [{"key": k, "name": k, "unit": u, "target_2025": t, "value_2020": v, "source": {"line": 9}}
                           for k, u, t, v in indicators]}


@pytest.mark.parametrize("target, value, status", [
    ("≤35", 35, "达标"), ("≤35", 36, "未达标"), ("35*", 35, "达标"), ("35*", 36, "未达标"), ("35", 34, "达标"),
])
def test_pm25_targets_as_plans_print_them(target, value, status):
    row = compare_with_plan(_result(pm25=value), _plan(("pm25", "μg/m3", target, "30")), "x")[0]
    assert row["status"] == status and row["target"]["value"] == 35.0 and row["target"]["op"] == "≤"


@pytest.mark.parametrize("unit, target, days, ratio, status", [
    ("天", "≥322[4]", 322, 88.2, "达标"), ("天", "≥322[4]", 321, 87.9, "未达标"), ("天", "320*", 320, 87.7, "达标"),
    ("%", "≥90（330天）", 330, 90.0, "达标"), ("%", "≥90（330天）", 329, 89.9, "未达标"),  # exact: 89.9 does not meet ≥ 90
    ("%", "≥95", 347, 95.1, "达标"),
])
def test_good_day_targets_in_days_or_percent(unit, target, days, ratio, status):
    row = compare_with_plan(_result(good_days=days, ratio=ratio), _plan(("good_air_days", unit, target, "92（339天）")), "x")[0]
    assert row["status"] == status
    assert row["value"] == (days if unit == "天" else ratio) and row["value_unit"] == unit
    assert row["value_2020"] == 92.0  # '92（339天）': the leading figure


def test_no_data_or_no_number_is_undetermined():
    plan = _plan(("pm25", "μg/m3", "≤35", "30"), ("good_air_days", "%", "力争稳定", "90"))
    rows = compare_with_plan(None, plan, "x")
    assert [r["status"] for r in rows] == ["无法判断", "无法判断"]
    assert "没有监测数据" in rows[0]["reason"] and "不是可比较的数值" in rows[1]["reason"]
    assert compare_with_plan(_result(pm25=None), plan, "x")[0]["status"] == "无法判断"  # an invalid annual mean


def test_hourly_data_fill_the_days_without_daily_values(make_app):
    app = make_app()
    client = admin_client(app)
    hours = "站点,日期时间,PM2.5,PM10,SO2,NO2,CO,O3\n" + "".join(
        f"{DAZU_CITY[0]},2023-03-01 {h:02d}:00,{40 + (h % 2) * 10},60,8,20,0.5,{50 + h}\n" for h in range(24))
    assert post(client, "hours.csv", hours.encode()).status_code == 200
    day = client.get(f"/api/air/stations/{DAZU_CITY[0]}/series?end=2023-03-01&days=1").get_json()["days"]
    assert len(day) == 1 and day[0]["pm25"] == 45.0  # 12 hours of 40 and 12 of 50
    # O3 MDA8 from hours 50…73 (rising): the highest 8-hour window is the last, hours 16–23, mean 69.5
    assessment = client.get("/api/districts/500111/air?date=2023-03-01&year=2023").get_json()["day"]
    s1 = next(s for s in assessment["stations"] if s["id"] == DAZU_CITY[0])
    assert s1["values"]["PM2.5"] == 45.0 and s1["values"]["O3_8h"] == pytest.approx(np.mean(range(66, 74)))


def test_api_errors(client):
    assert client.get("/api/districts/999999/air").status_code == 404
    assert client.get("/api/districts/500111/air?year=20x5").status_code == 400
    assert client.get("/api/districts/500111/air?date=2025-13-01").status_code == 400
    assert client.get("/api/air/stations/nope/series").status_code == 404
    assert client.get(f"/api/air/stations/{DAZU_CITY[0]}/series?end=2025-06-30&days=0").status_code == 400
    body = client.get("/api/districts/500111/air?date=2025-02-30").get_json()
    assert body["error"] == "日期不存在：2025-02-30" and body["error_en"]
    assert client.get("/districts/500111/air?mode=other").status_code == 400
    assert client.get(f"/districts/500235/air?station={DAZU_CITY[0]}").status_code == 404  # a station of another district


def test_import_requires_an_administrator_and_refuses_a_bad_file_whole(make_app):
    app = make_app()
    anonymous = app.test_client()
    assert post(anonymous, "a.csv", b"x").status_code == 401  # with a valid CSRF token, but not logged in
    app.extensions["services"].accounts.create("reviewer_air", "reviewer password", "reviewer")
    reviewer = app.test_client()
    login(reviewer, "reviewer_air", "reviewer password")
    assert post(reviewer, "a.csv", b"x").status_code == 403
    client = admin_client(app)
    before = len(app.extensions["services"].air.daily())
    bad = csv_file([(DAZU_CITY[0], "2023-01-01", {**LOW, "PM2.5": 20}), (DAZU_CITY[0], "2023-01-02", {**LOW, "PM2.5": -1})])
    resp = post(client, "bad.csv", bad)
    assert resp.status_code == 400
    errors = resp.get_json()["details"]["errors"]
    assert [e["row"] for e in errors] == [3] and errors[0]["column"] == "PM2.5"
    assert len(app.extensions["services"].air.daily()) == before  # the good row 2 was not kept either
    # the page form says the same
    page = client.post("/districts/500111/air/import", data={"file": (io.BytesIO(bad), "bad.csv"), "csrf_token": _token(client)},
                       content_type="multipart/form-data")
    assert page.status_code == 400 and "不能为负数" in page.get_data(as_text=True)


def test_page_shows_the_plan_rows_the_stations_and_the_charts(client):
    html = client.get("/districts/500111/air").get_data(as_text=True)
    assert "示意数据" in html and "规划第 304 行" in html and "规划第 312 行" in html
    assert "大足区城区国控空气自动监测站（龙岗街道）" in html
    assert 'class="air-trend"' in html and 'class="air-calendar"' in html and 'class="air-limit"' in html
    assert html.count('data-date="2025-') == 365  # one calendar cell per day of the latest demo year
    year = client.get("/districts/500111/air?mode=year&year=2024").get_data(as_text=True)
    assert "<th>2024 年评价</th>" in year and "规划指标（2024 年）" in year


def test_calendar_and_trend_follow_the_edition_switch(make_app):
    """A station-year across 2026-03-01: the PM2.5 24-h limit steps from 75 to 60 µg/m³ in the series."""
    app = make_app()
    client = admin_client(app)
    rows = [(DAZU_CITY[0], d, {**LOW, "PM2.5": 50}) for d in ("2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02")]
    assert post(client, "switch.csv", csv_file(rows)).status_code == 200
    days = client.get(f"/api/air/stations/{DAZU_CITY[0]}/series?year=2026").get_json()["days"]
    assert [d["pm25_limit_24h"] for d in days] == [75, 75, 60, 60]
    assert [d["standard"] for d in days] == ["HJ 633-2012", "HJ 633-2012", "HJ 633-2026", "HJ 633-2026"]
    # PM2.5 50: IAQI 50 + (50 − 35) / (75 − 35) × 50 = 68.75 → 69 under 2012; under 2026 the 35–60 band gives 80
    assert [d["aqi"] for d in days] == [69, 69, 80, 80]


def test_cli_report(make_app):
    app = make_app()
    result = app.test_cli_runner().invoke(args=["air", "report", "--district", "500111", "--year", "2025"])
    assert result.exit_code == 0, result.output
    assert "2025 年评价" in result.output and "规划指标" in result.output and "第 304 行" in result.output
    bad = app.test_cli_runner().invoke(args=["air", "report", "--district", "500111", "--year", "x"])
    assert bad.exit_code != 0 and "年份格式" in bad.output
