"""Monitoring sections (监测断面): plan sections joined with their map location and stored
measurements, and the application services for reports and all-or-nothing imports."""
from __future__ import annotations

import re
from pathlib import Path

from geo import vocabulary
from geo import water as wq
from geo.errors import DataError, NotFoundError
from layers.store import LayerStore
from state.measurements import MeasurementStore

DEMO_SOURCE = "示意监测数据（data/demo_measurements.csv，非实测）"
DEMO_CSV = Path(__file__).resolve().parent.parent / "data" / "demo_measurements.csv"
PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def exceedance_text(exceedance: dict) -> str:
    """超标倍数 as the table, the popup and the export write it: 'NH3-N 0.208 倍'; pH outside 6–9 has no multiple."""
    return "；".join(f"{k} {v:g} 倍" if v is not None else f"{k} 超出 6–9（不计倍数）" for k, v in exceedance.items())


class SectionService:
    def __init__(self, store: LayerStore, plans: dict[str, dict], measurements: MeasurementStore):
        self.plans = plans
        self.measurements = measurements
        points = store.read_all("monitoring_section")
        where = {(r.adcode, r.name): (round(r.geometry.x, 6), round(r.geometry.y, 6)) for r in points.itertuples()}
        self.sections = wq.sections_from_plans(plans)
        for s in self.sections:
            s["lon"], s["lat"] = where.get((s["adcode"], s["name"]), (None, None))
        self.by_id = {s["id"]: s for s in self.sections}
        if not measurements.imports():
            self.import_file(DEMO_CSV.name, DEMO_CSV.read_bytes(), DEMO_SOURCE)

    def import_file(self, filename: str, data: bytes, source_name: str | None = None, audit_token: str | None = None) -> dict:
        """All or nothing: a file with any bad row is refused whole, naming every bad row."""
        records = wq.parse_measurements(data, filename, self.sections)
        return self.measurements.import_records(records, source_name or filename, audit_token)

    def data_status(self) -> dict:
        """Demo if any stored value still comes from the demo series; mixed if real values sit beside it."""
        imports = self.measurements.imports()
        live_values = self.measurements.values_by_import()
        demo_ids = {i["import_id"] for i in imports if i["source_name"] == DEMO_SOURCE}
        demo_values = sum(n for i, n in live_values.items() if i in demo_ids)
        other_values = sum(n for i, n in live_values.items() if i not in demo_ids)
        return {"is_demo": demo_values > 0, "is_mixed": demo_values > 0 and other_values > 0,
                "demo_values": demo_values, "imported_values": other_values, "imports": imports}

    def _check_district(self, adcode: str | None):
        if adcode and adcode not in self.plans:
            raise NotFoundError(f"未知的行政区划代码：{str(adcode)[:20]}", f"unknown district: {str(adcode)[:20]}")

    def _check_period(self, period: str | None) -> str | None:
        if period and not PERIOD_RE.match(period):
            raise DataError(f"月份格式应为 YYYY-MM，收到：{period[:20]}", f"period must be YYYY-MM, got {period[:20]!r}")
        return period

    def section_results(self, adcode: str | None = None, period: str | None = None) -> dict:
        self._check_district(adcode)
        period = self._check_period(period)
        periods = self.measurements.periods()
        period = period or (periods[-1] if periods else None)
        rows, annual_rows = [], []
        year = period[:4] if period else None
        for s in self.sections:
            if adcode and s["adcode"] != adcode:
                continue
            series = self.measurements.series(s["id"])
            classes = wq.classify_periods(series, s["water_body"], s["target_class_num"]) if series else {"monthly": [], "annual": []}
            month = next((m for m in classes["monthly"] if m["period"] == period), None)
            annual = next((a for a in classes["annual"] if a["year"] == year), None)
            rows.append(self._row(s, month, period))
            annual_rows.append({**s, "class_num": annual["class_num"] if annual else None})
        monthly_rollup = wq.rollup([{**r, "class_num": r["latest_class_num"]} for r in rows])
        annual_rollup = wq.rollup(annual_rows)
        plans = [self.plans[adcode]] if adcode else list(self.plans.values())
        return {
            "district": adcode,
            "period": period,
            "periods": periods,
            "sections": rows,
            "rollup": {"period": monthly_rollup, "year": year, "annual": annual_rollup},
            "plan_indicators": [dict(c, adcode=p["adcode"]) for p in plans
                                for c in wq.compare_with_plan(wq.rollup([r for r in annual_rows if r["adcode"] == p["adcode"]]), p)],
            "method": "GB 3838-2002 表1，单因子评价法（最差指标定类别，限值含等号，超过Ⅴ类为劣Ⅴ）；年度类别按各指标年均值评价",
            "data": self.data_status(),
        }

    @staticmethod
    def _row(s: dict, month: dict | None, period: str | None) -> dict:
        public = {k: s[k] for k in ("id", "name", "adcode", "district", "river", "water_body", "water_body_zh", "level",
                                    "target_class", "target_class_num", "class_2020", "lon", "lat", "source_line")}
        if month is None:
            return {**public, "period": period, "latest_class": None, "latest_class_num": None, "color": "#999999",
                    "compliant": None, "deciding_parameters": [], "exceedance": {}, "exceedance_text": "", "values_mg_l": {}}
        # classify_periods gives a month's exceedance as {parameter: {"value", "limit", "exceedance_ratio"}}
        exceed = month.get("exceedance") or {}
        return {**public, "period": month["period"], "latest_class": month["class"], "latest_class_num": month["class_num"],
                "color": month["color"], "quality": month["quality"], "compliant": month.get("compliant"),
                "deciding_parameters": month["deciding_parameters"],
                "exceedance": {k: v["exceedance_ratio"] for k, v in exceed.items()},
                "exceedance_text": exceedance_text({k: v["exceedance_ratio"] for k, v in exceed.items()}),
                "values_mg_l": month.get("values_mg_l", {})}

    def series(self, section_id: str) -> dict:
        s = self.by_id.get(section_id)
        if s is None:
            raise NotFoundError(f"未知的断面：{section_id[:40]}", f"unknown section: {section_id[:40]}")
        records = self.measurements.series(section_id)
        classes = wq.classify_periods(records, s["water_body"], s["target_class_num"]) if records else {"monthly": [], "annual": []}
        limits = {}
        if s["target_class_num"]:
            for key in wq.expected_parameters(s["water_body"]):
                limits[key] = wq.limit_for(key, s["water_body"], s["target_class_num"])
        return {"section": self._row(s, None, None) | {"latest_class": None}, "monthly": classes["monthly"],
                "annual": classes["annual"], "target_limits": limits, "data": self.data_status()}


REPORT_COLUMNS = ("adcode", "district", "section", "level", "target_class", "period", "class", "compliant", "deciding_parameters",
                  "exceedance")



def _summary(title: str, result: dict) -> str:
    return f"{title} {result['district'] or '全部'} {result['period']}：" + "；".join(
        f"{c['adcode']} {c['name']} {c['status']}" for c in result["plan_indicators"])


def sections_report(ctx, actor, adcode: str | None, period: str | None, title: str = "断面水质") -> dict:
    """Per-section classes for a month and the rollups against the plan, audited."""
    result = ctx.live.get().sections.section_results(adcode or None, period or None)
    imports = result["data"]["imports"]
    ctx.record(actor, "sections", _summary(title, result), {"measurements_import": imports[-1]["import_id"] if imports else None},
               read=True)
    return result


def report_rows(result: dict) -> list[dict]:
    """One row per section (REPORT_COLUMNS), for CSV/Excel."""
    words = {True: vocabulary.status("target", "met"), False: vocabulary.status("target", "not_met")}
    return [{"adcode": r["adcode"], "district": r["district"], "section": r["name"], "level": r["level"],
             "target_class": r["target_class"] or "", "period": r["period"], "class": r["latest_class"] or "",
             "compliant": words.get(r["compliant"], ""), "deciding_parameters": "、".join(r["deciding_parameters"]),
             "exceedance": r["exceedance_text"]}
            for r in result["sections"]]


def import_measurements(ctx, actor, filename: str, data: bytes) -> dict:
    """All-or-nothing import (a DataError lists every bad row), audited with the file's hash."""
    return ctx.record_import(actor, "sections_import", filename, data,
                             lambda token: ctx.live.get().sections.import_file(filename, data, audit_token=token),
                             lambda done: (f"导入监测数据 {done['n_records']} 条（{filename}）", {"measurements_import": done["import_id"]}))


def classify(payload) -> dict:
    """The stateless GB 3838 calculator: {"water_body", "values"} → class and deciding parameters."""
    if not isinstance(payload, dict) or not isinstance(payload.get("values"), dict):
        raise DataError("请求体须为 {\"water_body\": \"river\"|\"lake\", \"values\": {...}}",
                        'body must be {"water_body": "river"|"lake", "values": {...}}')
    return wq.classify(payload["values"], payload.get("water_body", "river"))
