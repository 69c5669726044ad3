"""GB 3838-2002 section classification, imports, rollups and the measurement store (issue 5).

Expected classes and ratios are worked out by hand from Table 1 (data/gb3838_2002.yaml).
"""
import io
import json
from datetime import datetime
from pathlib import Path

import jsonschema
import pytest
import yaml

from geo import water as wq
from geo.errors import ConfigError, DataError
from geo.plans import load_plans

ROOT = Path(__file__).resolve().parent.parent
WATER = ROOT / "tests" / "data" / "water"
DEMO_CSV = ROOT / "data" / "demo_measurements.csv"


@pytest.fixture(scope="module")
def plans():
    return load_plans(ROOT / "data" / "plans")


@pytest.fixture(scope="module")
def sections(plans):
    return wq.sections_from_plans(plans)


# --- the table as data ------------------------------------------------------------------------

def test_table_has_exactly_the_basic_items_with_river_and_lake_tp():
    t = wq.load_table()
    assert list(t["parameters"]) == ["DO", "CODMn", "COD", "BOD5", "NH3-N", "TP", "TN", "pH"]
    assert t["parameters"]["TP"]["limits"] == {"river": (0.02, 0.1, 0.2, 0.3, 0.4),
                                               "lake": (0.01, 0.025, 0.05, 0.1, 0.2)}
    assert t["parameters"]["TN"]["applies_to"] == ("lake",)
    assert t["parameters"]["DO"]["direction"] == "min"
    assert t["parameters"]["pH"]["range"] == (6.0, 9.0)
    assert [c["color"] for c in t["classes"]] == ["#68cffe", "#49a1fe", "#37b70c", "#fae521", "#f29c00", "#dd3f36"]
    assert [c["quality"] for c in t["classes"]] == ["优", "优", "良好", "轻度污染", "中度污染", "重度污染"]
    assert t["source"]


def test_table_schema_is_valid_draft_2020_12():
    schema = json.loads(wq.SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["parameters"]["required"] == list(wq.PARAMETER_KEYS)


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d["parameters"]["DO"].update(limits=[7.5, 6, 5, 3]), "parameters/DO/limits"),
    (lambda d: d["parameters"]["NH3-N"].update(limits=[0.15, 1.0, 0.5, 1.5, 2.0]), "parameters/NH3-N/limits"),
    (lambda d: d["parameters"]["TP"]["limits"].pop("lake"), "parameters/TP/limits/lake"),
    (lambda d: d["parameters"].pop("BOD5"), "parameters/BOD5"),
    (lambda d: d["parameters"]["pH"].update(direction="both"), "parameters/pH/direction"),
    (lambda d: d.pop("source"), "source"),
    (lambda d: d["classes"][3].update(color="yellow"), "classes/3/color"),
    (lambda d: d["classes"][2].update(num=4), "classes/2/num"),
    (lambda d: d["parameters"].update(Hg={"name_zh": "汞", "unit": "mg/L", "direction": "max",
                                          "limits": [0.00005, 0.00005, 0.0001, 0.001, 0.001]}), "parameters/Hg"),
    (lambda d: d["parameters"]["pH"].pop("range"), "parameters/pH/range"),
    (lambda d: d["parameters"]["pH"].update(range=[9, 6]), "parameters/pH/range"),
    (lambda d: d["parameters"]["COD"]["limits"].__setitem__(2, float("inf")), "parameters/COD/limits"),
    (lambda d: d["parameters"]["TN"].update(limits={"river": [0.2, 0.5, 1.0, 1.5, 2.0],
                                                    "lake": [0.2, 0.5, 1.0, 1.5, 2.0]}), "parameters/TN/applies_to"),
])
def test_malformed_table_fails_naming_the_field(tmp_path, mutate, field):
    raw = yaml.safe_load(wq.TABLE_PATH.read_text(encoding="utf-8"))
    mutate(raw)
    bad = tmp_path / "gb.yaml"
    bad.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        wq.load_table(bad)
    assert exc.value.field == field
    assert exc.value.path == str(bad.resolve())


# --- single-factor classification -------------------------------------------------------------

@pytest.mark.parametrize("key, value, expected", [
    ("NH3-N", 0.15, 1), ("NH3-N", 0.5, 2), ("NH3-N", 1.0, 3), ("NH3-N", 1.01, 4), ("NH3-N", 2.0, 5),
    ("NH3-N", 2.5, 6),
    ("DO", 7.5, 1), ("DO", 6.0, 2), ("DO", 5.9, 3), ("DO", 2.0, 5), ("DO", 1.9, 6),
    ("COD", 15, 1), ("COD", 15.1, 3), ("BOD5", 3, 1), ("BOD5", 3.1, 3), ("CODMn", 6, 3),
    ("pH", 6, 1), ("pH", 9, 1), ("pH", 9.5, 6), ("pH", 5.9, 6),
])
def test_single_parameter_classes_on_and_around_limits(key, value, expected):
    res = wq.classify({key: value}, "river")
    assert res["class_num"] == expected
    assert res["per_parameter"][key]["class_num"] == expected
    assert res["class"] == ["Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ", "Ⅴ", "劣Ⅴ"][expected - 1]


def test_limit_for_class_is_reported():
    per = wq.classify({"NH3-N": 0.8, "TP": None, "DO": 1.0, "pH": 7}, "river")["per_parameter"]
    assert "TP" not in per  # None = not measured
    assert per["NH3-N"]["limit_for_class"] == 1.0
    assert per["DO"]["limit_for_class"] == 2.0  # 劣Ⅴ: the Ⅴ limit it fails
    assert per["pH"]["limit_for_class"] == [6.0, 9.0]


@pytest.mark.parametrize("tp, river, lake", [(0.08, 2, 4), (0.15, 3, 5), (0.05, 2, 3), (0.2, 3, 5)])
def test_tp_has_separate_river_and_lake_limits(tp, river, lake):
    assert wq.classify({"TP": tp}, "river")["class_num"] == river
    assert wq.classify({"TP": tp}, "lake")["class_num"] == lake
    assert wq.classify({"TP": tp}, "湖库")["class_num"] == lake
    assert wq.classify({"TP": tp}, "河流")["class_num"] == river


def test_tn_ignored_for_rivers_assessed_for_lakes():
    river = wq.classify({"NH3-N": 0.1, "TN": 5.0}, "river")
    assert river["class"] == "Ⅰ"
    assert river["not_assessed"] == ["TN"] and "TN" not in river["per_parameter"]
    assert "TN" not in river["missing_parameters"]
    lake = wq.classify({"NH3-N": 0.1, "TN": 1.2}, "lake")
    assert lake["class"] == "Ⅳ" and lake["deciding_parameters"] == ["TN"]


def test_missing_parameters_reported():
    res = wq.classify({"NH3-N": 0.3}, "river")
    assert res["missing_parameters"] == ["DO", "CODMn", "COD", "BOD5", "TP", "pH"]
    assert wq.classify({"NH3-N": 0.3}, "lake")["missing_parameters"] == ["DO", "CODMn", "COD", "BOD5", "TP", "TN", "pH"]


def test_issue_sample_river_and_lake():
    values = {"DO": 6.2, "CODMn": 3.1, "COD": 18, "BOD5": 3.5, "NH3-N": 0.8, "TP": 0.12, "TN": 1.1, "pH": 7.6}
    river = wq.classify(values, "river")
    # DO Ⅱ, CODMn Ⅱ, COD Ⅲ, BOD5 Ⅲ, NH3-N Ⅲ, TP(river) Ⅲ, pH Ⅰ → Ⅲ
    assert (river["class"], river["class_num"], river["color"], river["quality"]) == ("Ⅲ", 3, "#37b70c", "良好")
    assert river["deciding_parameters"] == ["COD", "BOD5", "NH3-N", "TP"]
    assert river["missing_parameters"] == []
    lake = wq.classify(values, "lake")
    # TP(lake) 0.12 > 0.1 → Ⅴ; TN 1.1 → Ⅳ
    assert lake["class"] == "Ⅴ" and lake["deciding_parameters"] == ["TP"]
    assert lake["per_parameter"]["TN"]["class"] == "Ⅳ"


def test_keys_are_case_insensitive_and_chinese_names_accepted():
    res = wq.classify({"nh3-n": 0.5, "do": 7.5, "总磷": 0.02}, "river")
    assert set(res["per_parameter"]) == {"NH3-N", "DO", "TP"} and res["class"] == "Ⅱ"


def test_unknown_keys_refused_naming_them():
    with pytest.raises(DataError) as exc:
        wq.classify({"NH3-N": 0.3, "Hg": 0.0001, "foo": 1}, "river")
    e = exc.value
    assert type(e) is DataError  # bad input, not a missing resource or an unavailable component
    assert "Hg" in e.message_zh and "foo" in e.message_zh and "未知参数" in e.message_zh
    assert "Hg" in e.message_en and "foo" in e.message_en and "unknown" in e.message_en
    assert e.details["unknown_parameters"] == ["Hg", "foo"]


@pytest.mark.parametrize("values, name", [
    ({"COD": "abc"}, "COD"), ({"TP": -0.1}, "TP"), ({"DO": True}, "DO"), ({"pH": 15}, "pH"),
    ({"NH3-N": float("nan")}, "NH3-N"), ({"NH3-N": None, "氨氮": 0.5}, "NH3-N"),
])
def test_bad_values_refused_naming_the_parameter(values, name):
    with pytest.raises(DataError) as exc:
        wq.classify(values, "river")
    assert name in exc.value.message_zh and name in exc.value.message_en
    assert name in exc.value.details["invalid_values"]


def test_bad_water_body_and_empty_values_refused():
    with pytest.raises(DataError, match="water_body"):
        wq.classify({"TP": 0.1}, "sea")
    with pytest.raises(DataError, match="no assessable"):
        wq.classify({"TN": 1.0}, "river")


# --- exceedance (超标倍数) ---------------------------------------------------------------------

def test_exceedance_by_hand():
    res = wq.exceedance({"NH3-N": 1.5, "TP": 0.3, "DO": 4.0, "COD": 20, "BOD5": 5.0, "pH": 7}, "river", 3)
    p = res["parameters"]
    assert res["target_class"] == "Ⅲ" and res["compliant"] is False
    assert p["NH3-N"]["exceedance_ratio"] == pytest.approx(0.5)   # (1.5 − 1.0) / 1.0
    assert p["TP"]["exceedance_ratio"] == pytest.approx(0.5)      # (0.3 − 0.2) / 0.2
    assert p["DO"]["exceedance_ratio"] == pytest.approx(0.2)      # (5 − 4) / 5
    assert p["BOD5"]["exceedance_ratio"] == pytest.approx(0.25)   # (5 − 4) / 4
    assert set(p) == {"NH3-N", "TP", "DO", "BOD5"}                # COD 20 is on the Ⅲ limit: meets it
    lake = wq.exceedance({"TP": 0.08}, "lake", "Ⅲ")["parameters"]["TP"]
    assert (lake["limit"], lake["exceedance_ratio"]) == (0.05, pytest.approx(0.6))  # (0.08 − 0.05) / 0.05
    assert wq.exceedance({"COD": 26}, "river", "Ⅱ")["parameters"]["COD"]["exceedance_ratio"] == pytest.approx(0.733)
    assert wq.exceedance({"NH3-N": 0.9}, "river", 3) == {"target_class": "Ⅲ", "target_class_num": 3,
                                                        "compliant": True, "parameters": {}}
    ph = wq.exceedance({"pH": 9.5}, "river", 3)["parameters"]["pH"]
    assert ph["exceedance_ratio"] is None
    with pytest.raises(DataError):
        wq.exceedance({"TP": 0.1}, "river", 6)


# --- periods --------------------------------------------------------------------------------------

def _recs(pairs, key="NH3-N"):
    return [{"date": d, "period": d[:7], "values": {key: v}} for d, v in pairs]


def test_annual_class_from_annual_means_differs_from_worst_month():
    recs = _recs([("2024-01-10", 0.3), ("2024-02-10", 0.3), ("2024-03-10", 0.3), ("2024-04-10", 1.9)])
    res = wq.classify_periods(recs, "river", "Ⅲ")
    assert [m["class"] for m in res["monthly"]] == ["Ⅱ", "Ⅱ", "Ⅱ", "Ⅴ"]
    assert res["monthly"][3]["compliant"] is False
    assert res["monthly"][3]["exceedance"]["NH3-N"]["exceedance_ratio"] == pytest.approx(0.9)
    (year,) = res["annual"]
    assert year["values_mg_l"]["NH3-N"] == pytest.approx(0.7)  # (0.3 × 3 + 1.9) / 4
    assert year["class"] == "Ⅲ" and year["compliant"] is True
    assert (year["worst_month_class_num"], year["worst_month"]) == (5, "2024-04")


def test_several_samples_in_a_month_are_averaged():
    recs = _recs([("2024-05-03", 0.2), ("2024-05-20", 0.6), ("2024-06-10", 0.3)])
    res = wq.classify_periods(recs, "river")
    may = res["monthly"][0]
    assert may["n_samples"] == 2 and may["values_mg_l"]["NH3-N"] == pytest.approx(0.4) and may["class"] == "Ⅱ"
    assert may["exceedance"] is None and may["compliant"] is None  # no target given
    # annual mean of monthly means: (0.4 + 0.3) / 2 = 0.35 → Ⅱ
    assert res["annual"][0]["values_mg_l"]["NH3-N"] == pytest.approx(0.35)
    assert [a["year"] for a in res["annual"]] == ["2024"]


def test_month_mean_exactly_on_a_limit_stays_inclusive():
    recs = _recs([("2024-01-01", 0.4), ("2024-01-15", 0.6)])  # mean 0.5 → Ⅱ (≤ 0.5), not Ⅲ
    assert wq.classify_periods(recs, "river")["monthly"][0]["class"] == "Ⅱ"


# --- rollups and the plan -------------------------------------------------------------------

ROLLUP_SAMPLE = [
    {"level": "国控", "target_class": "Ⅲ", "class_num": 2, "adcode": "1"},
    {"level": "国控", "target_class": "Ⅲ", "class_num": 3, "adcode": "1"},
    {"level": "国控", "target_class": "Ⅲ", "class_num": 4, "adcode": "2"},
    {"level": "市控", "target_class": "Ⅱ", "class_num": 3, "adcode": "2"},
    {"level": "市控", "target_class": None, "class_num": 6, "adcode": "2"},
    {"level": "区控", "target_class": "Ⅲ", "class_num": None, "adcode": "2"},
]


def test_rollup_matches_hand_count():
    r = wq.rollup(ROLLUP_SAMPLE)
    o = r["overall"]
    assert (o["n_sections"], o["n_assessed"], o["n_no_data"]) == (6, 5, 1)
    assert (o["n_class_1_3"], o["share_class_1_3_pct"]) == (3, 60.0)
    assert (o["n_worse_than_5"], o["share_worse_than_5_pct"]) == (1, 20.0)
    assert (o["n_with_target"], o["n_compliant"], o["compliance_pct"]) == (4, 2, 50.0)
    assert o["class_counts"] == {"Ⅰ": 0, "Ⅱ": 1, "Ⅲ": 2, "Ⅳ": 1, "Ⅴ": 0, "劣Ⅴ": 1}
    assert o["quality_by_class_share"] == "中度污染"  # Ⅰ–Ⅲ 60 % < 75 %, 劣Ⅴ 20 % (20–40 %)
    assert list(r["by_level"]) == ["国控", "市控", "区控"]
    g = r["by_level"]["国控"]
    assert (g["n_assessed"], g["share_class_1_3_pct"], g["compliance_pct"]) == (3, 66.67, 66.67)
    assert g["quality_by_class_share"] is None  # fewer than 5 sections
    s = r["by_level"]["市控"]
    assert (s["share_class_1_3_pct"], s["share_worse_than_5_pct"], s["n_with_target"], s["compliance_pct"]) == \
        (50.0, 50.0, 1, 0.0)
    q = r["by_level"]["区控"]
    assert (q["n_sections"], q["n_assessed"], q["share_class_1_3_pct"], q["compliance_pct"]) == (1, 0, None, None)
    assert r["by_district"]["1"]["n_compliant"] == 2 and r["by_district"]["2"]["n_assessed"] == 3


# 《地表水环境质量评价办法（试行）》（环办〔2011〕22号），河流、流域（水系）断面数 ≥ 5 时按类别比例评价：
# Ⅰ–Ⅲ类比例 ≥ 90 % 为“优”；75 % ≤ Ⅰ–Ⅲ类比例 < 90 % 为“良好”。
EXCELLENT_SHARE_PCT = 90


@pytest.mark.parametrize("n_sections, n_class_1_3, expected", [
    (10, 9, "优"),       # 9/10 = 90 %: exactly on the threshold, which is inclusive
    (100, 90, "优"),     # 90/100 = 90 %
    (100, 89, "良好"),   # 89/100 = 89 % < 90 %, ≥ 75 %
    (9, 8, "良好"),      # 8/9 = 88.89 % < 90 %
    (20, 19, "优"),      # 19/20 = 95 %
])
def test_river_rollup_excellent_threshold(n_sections, n_class_1_3, expected):
    share = 100 * n_class_1_3 / n_sections
    assert (share >= EXCELLENT_SHARE_PCT) == (expected == "优")  # the table above agrees with the method
    assert share >= 75  # every "not 优" case here is 良好, not a 劣Ⅴ-driven word
    # Ⅰ–Ⅲ sections at Ⅱ, the rest at Ⅳ (no 劣Ⅴ), all on one river, all 国控
    sections = [{"level": "国控", "target_class": "Ⅲ", "class_num": 2 if i < n_class_1_3 else 4}
                for i in range(n_sections)]
    overall = wq.rollup(sections)["overall"]
    assert (overall["n_assessed"], overall["n_class_1_3"], overall["n_worse_than_5"]) == (n_sections, n_class_1_3, 0)
    assert overall["quality_by_class_share"] == expected


@pytest.mark.parametrize("text, default, expected", [
    ("100", "≥", ("≥", 100)), ("≥93", "≥", ("≥", 93)), ("≤5", "≥", ("≤", 5)), ("0", "≤", ("≤", 0)),
    ("95%", "≥", ("≥", 95)), (">=90", "≥", ("≥", 90)), ("力争达到100", "≥", None), ("达到市级相关要求", "≥", None),
    (None, "≥", None),
])
def test_parse_target(text, default, expected):
    t = wq.parse_target(text, default)
    assert (None if t is None else (t["op"], float(t["value_pct"]))) == expected


def _plan(key, name, target):
    return {"indicators": [{"key": key, "name": name, "target_2025": target, "value_2020": "x",
                            "source": {"line": 7}}]}


@pytest.mark.parametrize("key, name, target, status, actual", [
    ("surface_water_class_1_3", "地表水水质达到或优于Ⅲ类比例", "≥60", "达标", 60.0),   # exactly on target
    ("surface_water_class_1_3", "地表水水质达到或优于Ⅲ类比例", "100", "未达标", 60.0),
    ("surface_water_class_1_3", "地表水国控断面水质优良比例", "≥66", "达标", 66.67),  # 国控 scope: 2/3
    ("surface_water_class_1_3", "地表水国控断面水质优良比例", "100", "未达标", 66.67),
    ("surface_water_worse_than_5", "劣Ⅴ类水体比例", "0", "未达标", 20.0),
    ("surface_water_worse_than_5", "劣Ⅴ类水体比例", "≤20", "达标", 20.0),
    ("surface_water_class_1_3", "地表水水质达到或优于Ⅲ类比例", "力争100", "无法判断", 60.0),
])
def test_compare_with_plan(key, name, target, status, actual):
    (row,) = wq.compare_with_plan(wq.rollup(ROLLUP_SAMPLE), _plan(key, name, target))
    assert (row["status"], row["actual_pct"], row["target_text"], row["source_line"]) == (status, actual, target, 7)
    if status == "无法判断":
        assert target in row["reason"]


def test_status_and_level_words_come_from_the_vocabulary(plans):
    """达标/未达标/无法判断 and 国控/市控/区控 are spelled in data/vocabulary.yaml only."""
    vocab = yaml.safe_load((ROOT / "data" / "vocabulary.yaml").read_text(encoding="utf-8"))
    assert wq.LEVELS == tuple(vocab["monitoring_levels"]) == ("国控", "市控", "区控")
    words = {w["label"]: w["en"] for w in vocab["statuses"]["target"].values()}
    for target in ("≥60", "100", "力争100"):
        (row,) = wq.compare_with_plan(wq.rollup(ROLLUP_SAMPLE), _plan("surface_water_class_1_3", "地表水水质达到或优于Ⅲ类比例", target))
        assert words[row["status"]] == row["status_en"]
    schema = json.loads((ROOT / "data" / "plan.schema.json").read_text(encoding="utf-8"))
    assert "国控" not in json.dumps(schema, ensure_ascii=False)  # the plan schema no longer repeats the levels
    bad = {"500000": {"name": "测试区", "monitoring_sections": [dict(plans["500110"]["monitoring_sections"][0], level="省控")]}}
    with pytest.raises(ConfigError) as err:
        wq.sections_from_plans(bad)
    assert err.value.field == "monitoring_sections/0/level" and "省控" in err.value.problem


def test_each_parameter_carries_its_own_class_colour():
    # NH3-N 1.208 is Ⅳ (≤ 1.5), TP 0.123 is Ⅲ (≤ 0.2 for a river), DO 7.9 is Ⅰ (≥ 7.5): colours of those classes
    res = wq.classify({"NH3-N": 1.208, "TP": 0.123, "DO": 7.9}, "river")
    assert {k: (v["class"], v["color"]) for k, v in res["per_parameter"].items()} == {
        "DO": ("Ⅰ", wq.class_info(1)["color"]), "NH3-N": ("Ⅳ", wq.class_info(4)["color"]), "TP": ("Ⅲ", wq.class_info(3)["color"])}
    assert res["color"] == wq.class_info(4)["color"]


# --- import ----------------------------------------------------------------------------------------

def test_csv_with_one_bad_row_is_refused_naming_the_row(sections):
    with pytest.raises(DataError) as exc:
        wq.parse_measurements(WATER / "one_bad_row.csv", "one_bad_row.csv", sections)
    e = exc.value
    assert e.details["bad_rows"] == [4]
    (err,) = e.details["errors"]
    assert (err["row"], err["column"]) == (4, "NH3-N") and "n.d." in err["problem"] and "not a number" in err["problem_en"]
    assert "第 4 行" in e.message_zh and "整个文件未导入" in e.message_zh and "nothing was imported" in e.message_en


def test_every_bad_row_and_column_is_listed(sections):
    csv_text = ("section,date,NH3-N(μg/L),TP,colour\n"
                "北渡,2024-13,0.5,0.1,x\n"
                "不存在的断面,2024-01,0.5,0.1,\n"
                "北渡,2024-02,-1,0.1,\n"
                "北渡,2024-03,0.5,0.1,\n"
                "北渡,2024-03,0.6,0.1,\n")
    with pytest.raises(DataError) as exc:
        wq.parse_measurements(csv_text.encode(), "bad.csv", sections)
    errs = {(e["row"], e["column"]): e for e in exc.value.details["errors"]}
    assert set(errs) == {(1, "NH3-N(μg/L)"), (1, "colour"), (2, "date"), (3, "section"), (4, "NH3-N(μg/L)"),
                         (6, "date")}
    assert "mg/L" in errs[(1, "NH3-N(μg/L)")]["problem"] and "μg/L" in errs[(1, "NH3-N(μg/L)")]["problem"]
    assert "未知列" in errs[(1, "colour")]["problem"]
    assert "2024-13" in errs[(2, "date")]["problem"]
    assert "不存在的断面" in errs[(3, "section")]["problem"]
    assert "负数" in errs[(4, "NH3-N(μg/L)")]["problem"]
    assert "第5行" in errs[(6, "date")]["problem"]  # duplicate section × date
    assert exc.value.details["bad_rows"] == [1, 2, 3, 4, 6]


def test_unit_row_accepted_when_mg_l_and_refused_otherwise(sections):
    good = "section,date,DO,NH3-N,pH\n单位,,mg/L,mg/L,无量纲\n北渡,2024-01-05,8.0,0.2,7.5\n"
    (rec,) = wq.parse_measurements(good.encode(), "u.csv", sections)
    assert rec["row"] == 3 and rec["values"] == {"DO": 8.0, "NH3-N": 0.2, "pH": 7.5}
    bad = "section,date,DO,NH3-N,pH\n,,mg/L,μg/L,无量纲\n北渡,2024-01-05,8.0,200,7.5\n"
    with pytest.raises(DataError) as exc:
        wq.parse_measurements(bad.encode(), "u.csv", sections)
    (err,) = exc.value.details["errors"]
    assert (err["row"], err["column"]) == (2, "NH3-N") and "μg/L" in err["problem"]


@pytest.mark.parametrize("content, fragment", [
    (b"", "empty"),
    (b"\n\n", "empty"),
    ("section,DO\n北渡,7\n".encode(), "required column date"),
    ("section,date,district\n北渡,2024-01,500110\n".encode(), "no parameter column"),
    (b"section,date,DO\n", "no data rows"),
])
def test_empty_or_headless_files_refused(sections, content, fragment):
    with pytest.raises(DataError) as exc:
        wq.parse_measurements(content, "x.csv", sections)
    assert fragment in exc.value.message_en


def test_unsupported_extension_refused(sections):
    with pytest.raises(DataError, match=r"\.xls"):
        wq.parse_measurements(b"whatever", "old.xls", sections)
    with pytest.raises(DataError, match="only .csv and .xlsx"):
        wq.parse_measurements(b"whatever", "data.txt", sections)


def test_district_disambiguates_same_named_sections():
    secs = [{"id": "1:桥", "adcode": "1", "district": "甲区", "name": "桥", "water_body": "river"},
            {"id": "2:桥", "adcode": "2", "district": "乙县", "name": "桥", "water_body": "river"}]
    with pytest.raises(DataError) as exc:
        wq.parse_measurements("section,date,TP\n桥,2024-01,0.1\n".encode(), "a.csv", secs)
    assert "district" in exc.value.details["errors"][0]["problem_en"]
    recs = wq.parse_measurements("section,district,date,TP\n桥,乙县,2024-01,0.1\n桥,甲,2024-01,0.2\n桥,2,2024-02,0.3\n"
                                 .encode(), "a.csv", secs)
    assert [r["section_id"] for r in recs] == ["2:桥", "1:桥", "2:桥"]
    (by_id,) = wq.parse_measurements("section,date,TP\n1:桥,2024-01,0.1\n".encode(), "a.csv", secs)
    assert by_id["section_id"] == "1:桥" and by_id["period"] == "2024-01" and by_id["date"] == "2024-01"


def test_gbk_csv_with_chinese_headers_accepted(sections):
    path = WATER / "gbk_sample.csv"
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # the fixture really is GBK
    recs = wq.parse_measurements(path, path.name, sections)
    assert [r["section_id"] for r in recs] == ["500111:玉滩水库入口", "500111:玉滩水库库心"]
    inlet = wq.classify(recs[0]["values"], recs[0]["water_body"])
    # lake: TP 0.08 → Ⅳ, TN 1.2 → Ⅳ; others Ⅲ or better
    assert inlet["class"] == "Ⅳ" and inlet["deciding_parameters"] == ["TP", "TN"]
    assert wq.classify(recs[1]["values"], "lake")["class"] == "Ⅲ"


def test_utf8_bom_csv_accepted(sections):
    data = "\ufeffsection,date,TP\n北渡,2024-01-15,0.05\n".encode("utf-8")
    (rec,) = wq.parse_measurements(data, "bom.csv", sections)
    assert rec["section_id"] == "500110:北渡" and rec["values"] == {"TP": 0.05}


def test_xlsx_accepted(sections, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["district", "section", "date", "DO(mg/L)", "NH3-N（mg/L）", "TP", "pH", "备注"])
    ws.append([500110, "北渡", datetime(2024, 3, 14), 7.8, 0.21, 0.06, 7.6, "自动站"])
    ws.append(["綦江区", "寨溪大桥", "2024-04", 7.1, "0.35", 0.09, 7.2, None])
    ws.append([None, None, None, None, None, None, None, None])  # trailing blank row is skipped
    path = tmp_path / "sections.xlsx"
    wb.save(path)
    recs = wq.parse_measurements(path, path.name, sections)
    assert [(r["row"], r["section_id"], r["date"], r["period"]) for r in recs] == [
        (2, "500110:北渡", "2024-03-14", "2024-03"), (3, "500110:寨溪大桥", "2024-04", "2024-04")]
    assert recs[1]["values"] == {"DO": 7.1, "NH3-N": 0.35, "TP": 0.09, "pH": 7.2}
    buf = io.BytesIO()
    ws.cell(row=3, column=5, value="高")
    wb.save(buf)
    with pytest.raises(DataError) as exc:
        wq.parse_measurements(buf.getvalue(), "sections.xlsx", sections)
    assert exc.value.details["bad_rows"] == [3]


# --- demo series and the store -------------------------------------------------------------------

def test_demo_csv_imports_cleanly_for_all_sections(sections, tmp_path):
    from state.measurements import MeasurementStore

    assert (ROOT / "data" / "demo_measurements.README").read_text(encoding="utf-8").strip()
    assert DEMO_CSV.stat().st_size < 200_000
    recs = wq.parse_measurements(DEMO_CSV, DEMO_CSV.name, sections)
    months = [f"{y}-{m:02d}" for y in (2024, 2025) for m in range(1, 13)]
    for s in sections:
        mine = [r for r in recs if r["section_id"] == s["id"]]
        assert [r["period"] for r in mine] == months, s["id"]
    store = MeasurementStore(tmp_path / "m.sqlite")
    info = store.import_records(recs, DEMO_CSV.name)
    assert info["n_records"] == len(sections) * 24
    assert store.periods() == months
    inlet = next(s for s in sections if s["id"] == "500111:玉滩水库入口")
    res = wq.classify_periods(store.series(inlet["id"]), inlet["water_body"], inlet["target_class"])
    summer_2024 = [m["class_num"] for m in res["monthly"] if m["period"] in ("2024-06", "2024-07", "2024-08")]
    assert max(summer_2024) == 4  # the plan's 2020 Ⅳ at the inlet recurs in summer
    assert [a["class"] for a in res["annual"]] == ["Ⅲ", "Ⅲ"]
    results = []
    for s in sections:
        latest = wq.classify_periods(store.series(s["id"]), s["water_body"], s["target_class"])["annual"][-1]
        results.append({"level": s["level"], "target_class": s["target_class"], "class_num": latest["class_num"],
                        "adcode": s["adcode"]})
    assert wq.rollup(results)["overall"]["share_worse_than_5_pct"] == 0.0


def test_store_import_is_all_or_nothing_and_reads_back(tmp_path):
    from state.measurements import MeasurementStore

    store = MeasurementStore(tmp_path / "m.sqlite")
    good = {"section_id": "500110:北渡", "date": "2024-01-12", "period": "2024-01", "values": {"TP": 0.05, "DO": 8.0}}
    bad = {"section_id": "500110:北渡", "date": "2024-02-12", "period": "2024-02", "values": {"Hg": 0.1}}
    with pytest.raises(ValueError):
        store.import_records([good, bad], "bad.csv")
    assert store.periods() == [] and store.series("500110:北渡") == []
    store.import_records([good, {**good, "date": "2024-02-10", "period": "2024-02", "values": {"TP": 0.07}},
                          {**good, "date": "2024-02-25", "period": "2024-02", "values": {"TP": 0.09}}], "ok.csv")
    assert store.periods() == ["2024-01", "2024-02"] == store.periods("500110:北渡")
    assert store.series("500110:北渡")[0]["values"] == {"DO": 8.0, "TP": 0.05}
    latest = store.latest("500110:北渡")
    assert latest["period"] == "2024-02" and [r["values"]["TP"] for r in latest["records"]] == [0.07, 0.09]
    assert store.latest("500110:北渡", "2024-01")["records"][0]["date"] == "2024-01-12"
    assert store.latest("500110:北渡", "2023-01") is None and store.latest("nope") is None
    store.import_records([{**good, "values": {"TP": 0.06}}], "fix.csv")  # a corrected value replaces the old one
    assert store.series("500110:北渡")[0]["values"] == {"DO": 8.0, "TP": 0.06}
    store.close()
    reopened = MeasurementStore(tmp_path / "m.sqlite")
    assert reopened.periods() == ["2024-01", "2024-02"]
