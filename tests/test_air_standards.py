"""Air quality: HJ 633 IAQI/AQI, GB 3095 limits and HJ 663 annual assessment, both editions.

Expected values are worked out here from the tables typed into this file (HJ 633-2012 表1, HJ 633-2026
表3, GB 3095-2012/2026 表1), never read from data/air_standards.yaml, so a wrong figure in the data file
fails a test instead of agreeing with itself.
"""
import json
import math
import time
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

import jsonschema
import numpy as np
import pytest
import yaml

from geo import air
from geo.errors import ConfigError, DataError

LEVELS = [0, 50, 100, 150, 200, 300, 400, 500]
T2012 = {  # HJ 633-2012 表1
    "SO2_24h": [0, 50, 150, 475, 800, 1600, 2100, 2620],
    "SO2_1h": [0, 150, 500, 650, 800],
    "NO2_24h": [0, 40, 80, 180, 280, 565, 750, 940],
    "NO2_1h": [0, 100, 200, 700, 1200, 2340, 3090, 3840],
    "PM10_24h": [0, 50, 150, 250, 350, 420, 500, 600],
    "CO_24h": [0, 2, 4, 14, 24, 36, 48, 60],
    "CO_1h": [0, 5, 10, 35, 60, 90, 120, 150],
    "O3_1h": [0, 160, 200, 300, 400, 800, 1000, 1200],
    "O3_8h": [0, 100, 160, 215, 265, 800],
    "PM2.5_24h": [0, 35, 75, 115, 150, 250, 350, 500],
}
T2026 = {**T2012,  # HJ 633-2026 表3: PM10 and PM2.5 changed, their 1-h means use the daily breakpoints
         "PM10_24h": [0, 50, 120, 250, 350, 420, 500, 600], "PM2.5_24h": [0, 35, 60, 115, 150, 250, 350, 500]}
T2026["PM10_1h"], T2026["PM2.5_1h"] = T2026["PM10_24h"], T2026["PM2.5_24h"]
DAY_2012, DAY_2026 = "2026-02-28", "2026-03-01"
TABLES = {DAY_2012: T2012, DAY_2026: T2026}
CLASS_2 = {  # GB 3095 表1 二级浓度限值: annual, 24 h (O3: daily max 8 h)
    "2012": {"SO2": (60, 150), "NO2": (40, 80), "PM10": (70, 150), "PM2.5": (35, 75), "CO": (None, 4), "O3": (None, 160)},
    "2026-transition": {"SO2": (60, 150), "NO2": (40, 80), "PM10": (60, 120), "PM2.5": (30, 60), "CO": (None, 4), "O3": (None, 160)},
    "2026-final": {"SO2": (20, 50), "NO2": (30, 50), "PM10": (50, 100), "PM2.5": (25, 50), "CO": (None, 4), "O3": (None, 160)},
}


def hand_iaqi(table: list, c) -> int:
    """Formula (1) of HJ 633 in exact fractions, rounded up."""
    c = Fraction(str(c))
    lv = LEVELS[:len(table)]
    j = next(i for i in range(1, len(table)) if c <= table[i]) if c > 0 else 1
    return math.ceil(Fraction(lv[j] - lv[j - 1], table[j] - table[j - 1]) * (c - table[j - 1]) + lv[j - 1])


def step(key: str):
    return Fraction(1, 10) if key.startswith("CO") else 1  # one reporting unit: CO 0.1 mg/m³, others 1 µg/m³


def half_even(x: float, decimals: int) -> float:
    return float(Decimal(repr(x)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN))


# --- IAQI at every breakpoint and just above it -----------------------------------------------------

IAQI_CASES = [(day, key, i) for day, table in TABLES.items() for key, bp in table.items() for i in range(len(bp))]


@pytest.mark.parametrize("day, key, i", IAQI_CASES, ids=[f"{d[:7]}-{k}-{i}" for d, k, i in IAQI_CASES])
def test_iaqi_at_breakpoint_and_just_above(day, key, i):
    bp = TABLES[day][key]
    at = air.iaqi(key, bp[i], day)
    assert at["iaqi"] == LEVELS[i] == hand_iaqi(bp, bp[i])
    above = Fraction(bp[i]) + step(key)
    c = float(above)
    if i < len(bp) - 1:
        assert air.iaqi(key, c, day)["iaqi"] == hand_iaqi(bp, above)
        return
    # above the last breakpoint
    if key == "SO2_1h":
        if day == DAY_2012:  # 表1 注（2）: report the 24-h IAQI instead
            r = air.aqi({"SO2_1h": c, "SO2_24h": 100}, day)
            assert r["iaqi"]["SO2_1h"]["iaqi"] == hand_iaqi(T2012["SO2_24h"], 100) == 75
        else:  # 表3 注 b: IAQI 200
            assert air.iaqi(key, c, day)["iaqi"] == 200
    elif key == "O3_8h":
        if day == DAY_2012:  # 表1 注（3）: report the 1-h IAQI instead
            r = air.aqi({"O3_8h": c, "O3_1h": 900}, day)
            assert r["iaqi"]["O3_8h"]["iaqi"] == hand_iaqi(T2012["O3_1h"], 900) == 350
        else:  # 表3 注 c: IAQI 300
            assert air.iaqi(key, c, day)["iaqi"] == 300
    else:
        r = air.iaqi(key, c, day)
        assert r["iaqi"] == 500 and "500" in r["rule_zh"]


def test_2012_rules_above_800_without_the_other_indicator_say_so():
    r = air.aqi({"O3_8h": 801, "PM2.5": 80}, DAY_2012)
    assert r["iaqi"]["O3_8h"]["iaqi"] is None
    assert r["aqi"] == hand_iaqi(T2012["PM2.5_24h"], 80)
    assert any("O3_1h" in n for n in r["notes"])


def test_the_2026_03_01_switch_changes_pm25_70():
    before, after = air.aqi({"PM2.5": 70}, "2026-02-28"), air.aqi({"PM2.5": 70}, "2026-03-01")
    assert before["aqi"] == hand_iaqi(T2012["PM2.5_24h"], 70) == 94
    assert after["aqi"] == hand_iaqi(T2026["PM2.5_24h"], 70) == 110
    assert (before["category"], after["category"]) == ("良", "轻度污染")
    assert before["edition"]["standards"] == {"aqi": "HJ 633-2012", "limits": "GB 3095-2012", "assessment": "HJ 663-2013"}
    assert after["edition"]["standards"] == {"aqi": "HJ 633-2026", "limits": "GB 3095-2026", "assessment": "HJ 663-2026"}
    # PM10 150 → IAQI 100 in 2012 but 150 → 100 + 50/130 × 30 in 2026
    assert air.aqi({"PM10": 150}, "2026-02-28")["aqi"] == 100
    assert air.aqi({"PM10": 150}, "2026-03-01")["aqi"] == hand_iaqi(T2026["PM10_24h"], 150) == 112


def test_editions_and_limit_phases_by_date():
    assert air.edition_for(date(2015, 6, 1))["id"] == "2012"
    assert air.edition_for("2026-02-28")["id"] == "2012"
    assert air.edition_for("2026-03-01") | {} == air.edition_for("2030-12-31") | {}
    assert air.edition_for("2030-12-31")["phase"] == "transition"
    assert air.edition_for("2031-01-01")["phase"] == "final"
    for day, key in (("2025-12-31", "2012"), ("2028-06-01", "2026-transition"), ("2031-01-01", "2026-final")):
        lim = air.limits_for(day)["limits"]
        for pollutant, (annual, daily) in CLASS_2[key].items():
            if annual is not None:
                assert lim[pollutant]["annual"] == annual, (day, pollutant)
            assert lim[pollutant]["8h" if pollutant == "O3" else "24h"] == daily, (day, pollutant)
    assert air.limits_for("2028-06-01", air_class=1)["limits"]["PM2.5"] == {"annual": 15, "24h": 35}
    with pytest.raises(DataError):
        air.edition_for("2026-13-01")
    with pytest.raises(DataError):
        air.limits_for("2026-01-01", air_class=3)


# --- AQI, classes, 首要污染物 -------------------------------------------------------------------------

@pytest.mark.parametrize("c, aqi_value, level, category, color", [
    (35, 50, "一级", "优", "#00E400"), (36, 52, "二级", "良", "#FFFF00"), (75, 100, "二级", "良", "#FFFF00"),
    (76, 102, "三级", "轻度污染", "#FF7E00"), (115, 150, "三级", "轻度污染", "#FF7E00"), (116, 152, "四级", "中度污染", "#FF0000"),
    (150, 200, "四级", "中度污染", "#FF0000"), (151, 201, "五级", "重度污染", "#99004C"), (250, 300, "五级", "重度污染", "#99004C"),
    (251, 301, "六级", "严重污染", "#7E0023"), (600, 500, "六级", "严重污染", "#7E0023"),
])
def test_aqi_classes_and_colours(c, aqi_value, level, category, color):
    r = air.aqi({"PM2.5_24h": c}, "2020-01-01")
    assert (r["aqi"], r["level"], r["category"], r["color"]) == (aqi_value, level, category, color)


def test_primary_and_exceeding_pollutants():
    tie = air.aqi({"PM10": 150, "PM2.5": 75, "SO2": 10}, "2020-01-01")
    assert tie["aqi"] == 100 and tie["primary_pollutants"] == ["PM10_24h", "PM2.5_24h"] and tie["exceeding_pollutants"] == []
    over = air.aqi({"PM10": 150, "PM2.5": 76, "NO2_24h": 81}, "2020-01-01")
    assert over["primary_pollutants"] == ["PM2.5_24h"]
    assert over["exceeding_pollutants"] == ["PM2.5_24h", "NO2_24h"] and over["exceeding_label_zh"] == "超标污染物"
    ozone = air.aqi({"PM2.5": 20, "O3_8h": 120}, "2020-01-01")
    assert ozone["aqi"] == hand_iaqi(T2012["O3_8h"], 120) == 67 and ozone["primary_pollutants"] == ["O3_8h"]
    assert air.aqi({"PM2.5": 20, "O3_8h": 40}, "2020-01-01")["primary_pollutants"] == []  # AQI ≤ 50: none
    new = air.aqi({"PM2.5": 76}, DAY_2026)  # HJ 633-2026 dropped the term 超标污染物
    assert new["exceeding_defined"] is False and new["exceeding_pollutants"] == ["PM2.5_24h"]


def test_2026_rounds_concentrations_first_and_aqi_starts_at_1():
    assert air.iaqi("PM2.5", 60.4, DAY_2026)["iaqi"] == 100
    assert air.iaqi("PM2.5", 60.5, DAY_2026)["concentration_used"] == 60  # GB/T 8170: 5 → even
    assert air.iaqi("PM2.5", 61.5, DAY_2026)["iaqi"] == hand_iaqi(T2026["PM2.5_24h"], 62) == 102
    assert air.iaqi("CO", 4.05, DAY_2026)["iaqi"] == 100
    assert air.iaqi("CO", 4.15, DAY_2026)["iaqi"] == hand_iaqi(T2026["CO_24h"], "4.2") == 101
    assert air.iaqi("PM2.5", 75.4, DAY_2012)["iaqi"] == hand_iaqi(T2012["PM2.5_24h"], "75.4") == 101  # used as given
    assert air.aqi({"SO2": 0}, DAY_2026)["aqi"] == 1 and air.aqi({"SO2": 0}, DAY_2012)["aqi"] == 0


def test_unknown_pollutant_is_a_400_data_error_listing_the_known_ones():
    from web.errors import status_of
    with pytest.raises(DataError) as exc:
        air.aqi({"PM25x": 10, "PM2.5": 10}, DAY_2012)
    assert status_of(exc.value) == 400
    assert "PM25x" in exc.value.message_zh and "PM2.5_24h" in exc.value.message_zh and "O3_8h" in exc.value.message_en
    assert "PM2.5_24h" in exc.value.details["known_indicators"]
    with pytest.raises(DataError) as exc:
        air.aqi({"PM10_1h": 10}, DAY_2012)  # a 2026-only indicator
    assert "HJ 633-2012" in exc.value.message_zh
    with pytest.raises(DataError) as exc:
        air.daily_from_hourly({"PM25x": [1] * 24}, "2024-01-01")
    assert status_of(exc.value) == 400 and "PM2.5" in exc.value.message_zh


@pytest.mark.parametrize("value", [-1, "abc", True, float("inf")])
def test_negative_or_non_numeric_concentration_is_refused(value):
    with pytest.raises(DataError) as exc:
        air.aqi({"NO2": value, "PM2.5": 10}, DAY_2012)
    assert "NO2_24h" in exc.value.details["invalid_values"]


def test_missing_values_and_spellings():
    r = air.aqi({"pm2_5": 70, "NO2": None, "SO2": "NA", "co_24h": "1.2"}, DAY_2012)
    assert set(r["iaqi"]) == {"PM2.5_24h", "CO_24h"} and r["iaqi"]["CO_24h"]["iaqi"] == hand_iaqi(T2012["CO_24h"], "1.2")
    with pytest.raises(DataError):
        air.aqi({"PM2.5": None}, DAY_2012)
    with pytest.raises(DataError):
        air.aqi({"PM2.5": 10, "pm2_5_24h": 11}, DAY_2012)


# --- ozone ------------------------------------------------------------------------------------------

def test_mda8_on_a_hand_made_series():
    n = None
    day1 = [40] * 9 + [120] * 8 + [40] * 7                    # hours 9–16 at 120: the window ending 17时
    day2 = [50] * 10 + [n] * 14                               # 5 valid windows (< 14), max 50 ≤ 160: invalid
    day3 = [200] * 10 + [n] * 14                              # 5 valid windows but max 200 > 160: valid
    day4 = [40] * 16 + [400] * 5 + [n] * 3                    # last window has 5 valid hours: not an 8-h average
    r = air.daily_mda8(day1 + day2 + day3 + day4, "2024-07-01")
    # day 4: best valid window is hours 15–22 = (40 + 5 × 400) / 6 = 340, not the 5-hour 400
    assert r["mda8"] == [120.0, None, 200.0, 340.0]
    assert r["valid_windows"] == [17, 5, 5, 16]
    assert r["valid"] == [True, False, True, True]
    assert r["max_available"][1] == 50.0
    assert r["dates"] == ["2024-07-01", "2024-07-02", "2024-07-03", "2024-07-04"]
    # 一类区: the limit for the exception is 100, so day 2 stays invalid and day 3 valid
    assert air.daily_mda8(day1 + day2 + day3 + day4, "2024-07-01", air_class=1)["valid"] == [True, False, True, True]


def test_moving_average_8h_needs_six_valid_hours():
    hours = [10, 20, None, 30, 40, 50, 60, 70, 80, None, None, 90]
    r = air.moving_average_8h(hours, "2024-07-01")
    assert r["values"][:6] == [None, None, None, None, None, None]    # at most 5 valid hours so far
    assert r["values"][6] == (10 + 20 + 30 + 40 + 50 + 60) / 6          # hours 0–6, 6 valid
    assert r["values"][8] == (20 + 30 + 40 + 50 + 60 + 70 + 80) / 7     # hours 1–8
    assert r["values"][11] == (40 + 50 + 60 + 70 + 80 + 90) / 6         # hours 4–11
    with pytest.raises(DataError):
        air.daily_mda8([1] * 23, "2024-07-01")


# --- daily values from hourly ----------------------------------------------------------------------

def test_daily_mean_needs_twenty_valid_hours():
    day_ok = [10.0] * 20 + [None] * 4
    day_short = [10.0] * 19 + [None] * 5
    r = air.daily_from_hourly({"PM2.5": day_ok + day_short, "O3": [50.0] * 48}, "2024-01-01")
    assert r["values"]["PM2.5"] == [10.0, None]
    assert r["valid_hours"]["PM2.5"] == [20, 19]
    assert r["values"]["O3_8h"] == [50.0, 50.0] and r["values"]["O3_1h"] == [50.0, 50.0]
    with pytest.raises(DataError):
        air.daily_from_hourly({"PM2.5": [1] * 24, "NO2": [1] * 48}, "2024-01-01")
    with pytest.raises(DataError):
        air.daily_from_hourly({"PM2.5": [1] * 23 + [-1]}, "2024-01-01")


# --- annual statistics -----------------------------------------------------------------------------

def test_percentile_formula_of_hj663():
    assert air.percentile([3, 4, 8, 2, 5, 4], 90) == 6.5  # k = 1 + 5 × 0.9 = 5.5 → 5 + (8 − 5) × 0.5
    rng = np.random.default_rng(7)
    for n in (1, 2, 7, 30, 101, 365, 366):
        x = rng.gamma(3, 20, n)
        for p in (90, 95, 98):
            assert air.percentile(x, p) == pytest.approx(np.percentile(x, p, method="linear"), abs=1e-9)
    assert air.percentile([np.nan, 5.0, np.nan], 95) == 5.0
    assert air.percentile([None, None], 95) is None


def _year_dates(year: int):
    d, out = date(year, 1, 1), []
    while d.year == year:
        out.append(d.isoformat())
        d += timedelta(days=1)
    return out


def test_each_annual_statistic_matches_an_independent_computation():
    rng = np.random.default_rng(42)
    dates = _year_dates(2024)
    vals = {"SO2": rng.gamma(2, 8, 366), "NO2": rng.gamma(4, 9, 366), "PM10": rng.gamma(4, 16, 366),
            "PM2.5": rng.gamma(3, 11, 366), "CO": rng.gamma(4, 0.2, 366), "O3_8h": rng.gamma(5, 22, 366)}
    vals["PM2.5"][[3, 40, 100, 200, 300]] = np.nan  # a few missing days, one a month, keep the year valid
    r = air.assess_station({"dates": dates, "values": {k: v.tolist() for k, v in vals.items()}}, name="测试站")
    assert r["edition"]["id"] == "2012" and r["year"] == 2024
    expected_stats = {"SO2": [("annual_mean", None), ("percentile", 98)], "NO2": [("annual_mean", None), ("percentile", 98)],
                      "PM10": [("annual_mean", None), ("percentile", 95)], "PM2.5": [("annual_mean", None), ("percentile", 95)],
                      "CO": [("percentile", 95)], "O3": [("percentile", 90)]}
    for pollutant, stats in expected_stats.items():
        got = r["pollutants"][pollutant]["statistics"]
        assert [(s["statistic"], s["percentile"]) for s in got] == stats
        series = vals["O3_8h" if pollutant == "O3" else pollutant]
        x = series[~np.isnan(series)]
        decimals = 1 if pollutant == "CO" else 0
        annual, daily = CLASS_2["2012"][pollutant]
        for s, (kind, p) in zip(got, stats):
            raw = x.mean() if kind == "annual_mean" else np.percentile(x, p, method="linear")
            value = half_even(float(raw), decimals)
            limit = annual if kind == "annual_mean" else daily
            assert s["value"] == value and s["value_unrounded"] == pytest.approx(raw, abs=1e-6)
            assert s["limit"] == limit
            assert s["status"] == ("达标" if value <= limit else "未达标")
            assert s["validity"]["ok"] and s["validity"]["valid_days"] == x.size
            assert s["assessment_standard"] == "HJ 663-2013" and "GB 3095-2012" in s["standard_zh"]
    json.dumps(r, ensure_ascii=False)


def _flat_year(year: int, **series):
    dates = _year_dates(year)
    return {"dates": dates, "values": {k: [v] * len(dates) if not isinstance(v, list) else v for k, v in series.items()}}


LOW = {"SO2": 10, "NO2": 20, "PM10": 40, "PM2.5": 20, "CO": 0.8, "O3_8h": 90}


def test_station_status_met_and_not_met():
    ok = air.assess_station(_flat_year(2024, **LOW))
    assert ok["status"] == "达标" and ok["failing_pollutants"] == [] and ok["undetermined_pollutants"] == []
    bad = air.assess_station(_flat_year(2024, **(LOW | {"PM2.5": 36})))  # 36 > 35 annual limit (2012)
    assert bad["status"] == "未达标" and bad["failing_pollutants"] == ["PM2.5"]
    edge = air.assess_station(_flat_year(2024, **(LOW | {"PM2.5": 35.4})))  # rounds to 35: meets
    assert edge["pollutants"]["PM2.5"]["status"] == "达标"


def test_validity_failures_give_undetermined():
    base = _flat_year(2024, **LOW)
    too_few = json.loads(json.dumps(base))
    for i in range(31, 31 + 5):  # 5 days of February missing: 24 < 25
        too_few["values"]["NO2"][i] = None
    r = air.assess_station(too_few)
    no2 = r["pollutants"]["NO2"]
    assert no2["status"] == "无法判断" and all(s["status"] == "无法判断" for s in no2["statistics"])
    assert any("2 月有效日数 24，少于 25" in p for p in no2["statistics"][0]["validity"]["problems"])
    assert r["status"] == "无法判断" and r["undetermined_pollutants"] == ["NO2"]
    # 323 days in the year: too few even though every month keeps ≥ 27 (≥ 25 in February)
    short = json.loads(json.dumps(base))
    month_days = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    drop = [4, 4, 4, 3, 4, 3, 4, 4, 3, 4, 3, 3]                        # 43 days, leaving ≥ 27 a month (Feb 25)
    for i in [sum(month_days[:m]) + j for m in range(12) for j in range(drop[m])]:
        short["values"]["CO"][i] = None
    co = air.assess_station(short)["pollutants"]["CO"]["statistics"][0]
    assert co["validity"]["valid_days"] == 323 and co["status"] == "无法判断"
    assert co["validity"]["problems"] == ["全年有效日数 323，少于 324"]
    # a pollutant not given at all, and a failing one: 未达标 wins over 无法判断
    partial = _flat_year(2024, **{k: v for k, v in LOW.items() if k != "O3_8h"} | {"PM10": 80})
    r = air.assess_station(partial)
    assert r["pollutants"]["O3"]["status"] == "无法判断" and r["status"] == "未达标"


def test_good_days_ratio_and_the_missing_indicator_rule():
    dates = _year_dates(2024)
    pm25 = [50] * 300 + [80] * 66       # 2012: IAQI 69 (良) and 107 (轻度污染)
    no2 = [20] * 366
    no2[0] = None                        # PM2.5 50 with NO2 missing: AQI unknown, not counted
    no2[365] = None                      # PM2.5 80 with NO2 missing: AQI > 100 anyway, counted
    daily = {"dates": dates, "values": {**{k: [v] * 366 for k, v in LOW.items() if k not in ("PM2.5", "NO2")},
                                        "PM2.5": pm25, "NO2": no2}}
    r = air.assess_station(daily)
    assert (r["good_days"], r["valid_aqi_days"]) == (299, 365)
    assert r["good_days_ratio"] == half_even(100 * 299 / 365, 1) == 81.9
    assert r["days_by_category"] == {"优": 0, "良": 299, "轻度污染": 66, "中度污染": 0, "重度污染": 0, "严重污染": 0}


def test_a_year_across_the_switch_uses_each_days_aqi_and_the_year_end_limits():
    r = air.assess_station(_flat_year(2026, **(LOW | {"PM2.5": 70})))
    assert r["good_days"] == 59 and r["valid_aqi_days"] == 365   # 1 Jan – 28 Feb: IAQI 94; from 1 Mar: 110
    assert r["edition"]["id"] == "2026" and r["edition"]["phase"] == "transition"
    pm = r["pollutants"]["PM2.5"]["statistics"]
    assert (pm[0]["limit"], pm[1]["limit"]) == (30, 60) and pm[0]["status"] == "未达标"
    assert len(r["editions_in_year"]) == 2 and any("跨越标准版本" in n for n in r["notes"])


def test_city_is_the_mean_of_station_days_not_the_worst_station():
    dates = _year_dates(2024)
    a = [20] * 366
    b = [44] * 366
    b[10] = None                          # that day the city value is station A alone
    city = air.assess_city({"A": _flat_year(2024, **(LOW | {"PM2.5": a})), "B": _flat_year(2024, **(LOW | {"PM2.5": b}))},
                           name="示例市")
    expected_mean = (20 * 365 + 44 * 365) / 2 / 366 + 20 / 366   # 365 days at 32, one day at 20
    pm = city["pollutants"]["PM2.5"]["statistics"][0]
    assert pm["value_unrounded"] == pytest.approx(expected_mean, abs=1e-6) and pm["value"] == 32 and pm["status"] == "达标"
    assert city["station_results"]["B"]["pollutants"]["PM2.5"]["status"] == "未达标"
    assert city["scope"] == "city" and city["stations"] == ["A", "B"] and city["stations_per_day"] == {"min": 2, "max": 2}
    # percentiles: of the city's daily means, not the mean of the stations' percentiles
    hi_a = [100] * 20 + [10] * 346
    hi_b = [10] * 20 + [100] * 20 + [10] * 326
    city = air.assess_city({"A": _flat_year(2024, **(LOW | {"PM2.5": hi_a})), "B": _flat_year(2024, **(LOW | {"PM2.5": hi_b}))})
    p95 = city["pollutants"]["PM2.5"]["statistics"][1]
    city_days = (np.array(hi_a) + np.array(hi_b)) / 2
    assert p95["value"] == half_even(float(np.percentile(city_days, 95, method="linear")), 0) == 55
    assert city["station_results"]["A"]["pollutants"]["PM2.5"]["statistics"][1]["value"] == 100
    assert dates[0] == "2024-01-01"


def test_a_year_of_hourly_data_for_twenty_stations_is_fast():
    rng = np.random.default_rng(0)
    n = 366 * 24
    stations = {f"站{i}": {"SO2": rng.gamma(2, 5, n), "NO2": rng.gamma(3, 10, n), "PM10": rng.gamma(3, 20, n),
                          "PM2.5": rng.gamma(3, 10, n), "CO": rng.gamma(3, 0.3, n), "O3": rng.gamma(3, 25, n)}
                for i in range(20)}
    t0 = time.perf_counter()
    r = air.assess_city_hourly(stations, "2024-01-01", name="示例市")
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.0, elapsed
    assert r["valid_aqi_days"] == 366 and len(r["station_results"]) == 20
    # the hourly path gives the same answer as daily values fed in
    one = air.assess_station(air.daily_from_hourly(stations["站0"], "2024-01-01"))
    for pollutant, entry in one["pollutants"].items():
        hourly_entry = r["station_results"]["站0"]["pollutants"][pollutant]
        assert [(s["value"], s["status"]) for s in entry["statistics"]] == \
            [(s["value"], s["status"]) for s in hourly_entry["statistics"]]
    assert one["good_days"] == r["station_results"]["站0"]["good_days"]
    json.dumps(r, ensure_ascii=False)


def test_daily_input_problems_are_data_errors():
    with pytest.raises(DataError):
        air.assess_station({"dates": ["2024-01-01", "2024-01-01"], "values": {"PM2.5": [1, 2]}})
    with pytest.raises(DataError):
        air.assess_station({"dates": ["2024-01-01"], "values": {"PM2.5": [1, 2]}})
    with pytest.raises(DataError) as exc:
        air.assess_station({"dates": ["2024-01-01"], "values": {"O3": [1]}})
    assert "O3_8h" in exc.value.message_zh
    with pytest.raises(DataError):
        air.assess_station({"dates": ["2023-12-31", "2024-01-01"], "values": {"PM2.5": [1, 2]}})  # two years, no year
    r = air.assess_station({"dates": ["2023-12-31", "2024-01-01"], "values": {"PM2.5": [1, 2]}}, year=2024)
    assert r["period"]["days_given"] == 1 and r["pollutants"]["PM2.5"]["status"] == "无法判断"


# --- the data file ----------------------------------------------------------------------------------

def test_schema_is_valid_and_the_file_says_what_is_confirmed():
    schema = json.loads(air.SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    std = air.load_standards()
    assert [e["id"] for e in std["editions"]] == ["2012", "2026"]
    for e in std["editions"]:
        assert e["confirmed"] and e["assumed"]
        assert [c["color"] for c in e["aqi"]["classes"]] == ["#00E400", "#FFFF00", "#FF7E00", "#FF0000", "#99004C", "#7E0023"]
        assert [c["category"] for c in e["aqi"]["classes"]] == ["优", "良", "轻度污染", "中度污染", "重度污染", "严重污染"]


def _mutated(tmp_path, mutate):
    raw = yaml.safe_load(air.STANDARDS_PATH.read_text(encoding="utf-8"))
    mutate(raw)
    bad = tmp_path / "air.yaml"
    bad.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return bad


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d["editions"][0]["aqi"]["indicators"]["PM2.5_24h"].update(breakpoints=[0, 35, 115, 75, 150, 250, 350, 500]),
     "editions/0/aqi/indicators/PM2.5_24h/breakpoints"),
    (lambda d: d["editions"][1]["aqi"]["indicators"]["O3_8h"].pop("above_top"), "editions/1/aqi/indicators/O3_8h/above_top"),
    (lambda d: d["editions"][1].update(valid_from="2026-03-02"), "editions/1/valid_from"),
    (lambda d: d["editions"][1]["limits"]["phases"][0]["class_2"]["PM2.5"].pop("annual"),
     "editions/1/limits/phases/0/class_2/PM2.5/annual"),
    (lambda d: d["editions"][0]["aqi"]["classes"][3].update(color="red"), "editions/0/aqi/classes/3/color"),
    (lambda d: d["editions"][0]["aqi"]["daily_indicators"].append("PM10_1h"), "editions/0/aqi/daily_indicators/7"),
    (lambda d: d["editions"][0]["assessment"]["validity"].pop("annual_min_days"), "editions/0/assessment/validity/annual_min_days"),
    (lambda d: d["editions"][0]["assessment"]["annual_statistics"]["CO"][0].update(limit="annual"),
     "editions/0/assessment/annual_statistics/CO/0/limit"),
    (lambda d: d["editions"][0].pop("confirmed"), "editions/0/confirmed"),
])
def test_malformed_file_fails_naming_the_field(tmp_path, mutate, field):
    bad = _mutated(tmp_path, mutate)
    with pytest.raises(ConfigError) as exc:
        air.load_standards(bad)
    assert exc.value.field == field
    assert exc.value.path == str(bad.resolve())
