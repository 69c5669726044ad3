"""Air-quality stations (环境空气质量监测站): the application services the page, the API and the CLI call.

The computation is geo.air (HJ 633 / GB 3095 / HJ 663, the edition chosen by each date); this module
joins it with the stations of the layer store and the stored values. A station's daily values are the
imported daily ones; the days only hourly data cover get their daily values from those hours (HJ 663
validity), so either kind of import counts. The district's figures for the plan are the city value of its
环境空气质量评价城市点 (the mean of those stations' daily values, HJ 663), not of micro-stations or the worst
station.
"""
from __future__ import annotations

import re
import threading
from collections import defaultdict
from datetime import date, datetime, timedelta

from geo import air, vocabulary
from geo.air.annual import SERIES_INDICATOR
from geo.air.measurements import stations_from_features
from geo.air.plan import compare_with_plan
from geo.air.standards import resolve
from geo.errors import DataError, NotFoundError
from state.air_measurements import ENGINE_SERIES, AirMeasurementStore, import_demo_if_empty, import_file

CITY_STATION_TYPE = "城市点"  # HJ 663: a city's (here: a district's) value comes from its 评价城市点
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
YEAR_RE = re.compile(r"^\d{4}$")
NO_DATA_COLOR = "#999999"
TREND_DAYS = 30  # the popup's trend: the days up to the chosen one
ANNUAL_CACHE = 64  # district-years kept computed


_STATUS_COLORS = {s["label"]: s.get("color", NO_DATA_COLOR) for s in vocabulary.default().statuses["target"].values()}


def _status_color(status: str) -> str:
    return _STATUS_COLORS.get(status, NO_DATA_COLOR)


def _engine_values(values: dict) -> dict:
    """A stored day's values ({series: value}) as AQI indicator keys (PM2.5_24h …, O3_8h, O3_1h)."""
    return {SERIES_INDICATOR[k]: v for k, v in values.items() if v is not None}


class AirService:
    def __init__(self, store, plans: dict[str, dict], measurements: AirMeasurementStore):
        self.plans = plans
        self.measurements = measurements
        self.stations = stations_from_features(store.read_all("air_station"))
        self.by_id = {s["id"]: s for s in self.stations}
        import_demo_if_empty(measurements, self.stations)
        self._annual: dict[tuple, dict] = {}
        self._lock = threading.Lock()

    # --- checks -------------------------------------------------------------------------------------------------

    def _check_district(self, adcode: str):
        if adcode not in self.plans and not any(s["adcode"] == adcode for s in self.stations):
            raise NotFoundError(f"未知的行政区划代码：{str(adcode)[:20]}", f"unknown district: {str(adcode)[:20]}")

    def station(self, station_id: str) -> dict:
        s = self.by_id.get(station_id)
        if s is None:
            raise NotFoundError(f"未知的空气质量监测站：{str(station_id)[:60]}", f"unknown air-quality station: {str(station_id)[:60]}")
        return s

    @staticmethod
    def _check_date(day: str | None) -> str | None:
        if day in (None, ""):
            return None
        if not DATE_RE.match(str(day)):
            raise DataError(f"日期格式应为 YYYY-MM-DD，收到：{str(day)[:20]}", f"date must be YYYY-MM-DD, got {str(day)[:20]!r}")
        try:
            date.fromisoformat(day)
        except ValueError:
            raise DataError(f"日期不存在：{day}", f"no such date: {day}") from None
        return day

    @staticmethod
    def _check_year(year) -> int | None:
        if year in (None, ""):
            return None
        if not YEAR_RE.match(str(year)):
            raise DataError(f"年份格式应为 YYYY，收到：{str(year)[:20]}", f"year must be YYYY, got {str(year)[:20]!r}")
        return int(year)

    # --- data ---------------------------------------------------------------------------------------------------

    def district_stations(self, adcode: str) -> list[dict]:
        self._check_district(adcode)
        return [s for s in self.stations if s["adcode"] == adcode]

    def daily(self, station_ids: list[str], start: str | None = None, end: str | None = None) -> dict[str, dict[str, dict]]:
        """{station_id: {YYYY-MM-DD: {series: value}}}: the stored daily values, and for the days only hourly data
        cover, the daily values computed from those hours (HJ 663 validity)."""
        out: dict[str, dict[str, dict]] = {s: defaultdict(dict) for s in station_ids}
        for r in self.measurements.daily(station_ids, start, end):
            out[r["station_id"]][r["date"]][ENGINE_SERIES[r["pollutant"]]] = r["value"]
        hourly: dict[str, dict[str, dict]] = defaultdict(lambda: defaultdict(dict))
        for r in self.measurements.hourly(station_ids, start, end):
            hourly[r["station_id"]][r["datetime"]][r["pollutant"]] = r["value"]
        for sid, hours in hourly.items():
            first = date.fromisoformat(min(hours)[:10])
            n_days = (date.fromisoformat(max(hours)[:10]) - first).days + 1
            stamps = [(datetime.combine(first, datetime.min.time()) + timedelta(hours=h)).strftime("%Y-%m-%d %H:%M")
                      for h in range(24 * n_days)]
            pollutants = sorted({p for v in hours.values() for p in v})
            derived = air.daily_from_hourly({p: [hours.get(t, {}).get(p) for t in stamps] for p in pollutants}, first.isoformat())
            for i, d in enumerate(derived["dates"]):
                if d in out[sid]:
                    continue  # an imported daily value stands
                values = {k: v[i] for k, v in derived["values"].items() if v[i] is not None}
                if values:
                    out[sid][d] = values
        return {s: dict(v) for s, v in out.items()}

    def years(self, adcode: str) -> list[int]:
        return self.measurements.span([s["id"] for s in self.district_stations(adcode)])["years"]

    def data_status(self) -> dict:
        return self.measurements.data_status()

    # --- one day ------------------------------------------------------------------------------------------------

    def day_rows(self, adcode: str, day: str | None = None) -> dict:
        """Each station of the district on one day: its IAQIs, AQI, 首要污染物, class and colour (the latest day with
        data when none is given)."""
        stations = self.district_stations(adcode)
        day = self._check_date(day)
        ids = [s["id"] for s in stations]
        if day is None:
            day = self.measurements.span(ids)["last"]
        values = self.daily(ids, day, day) if day else {}
        rows = []
        for s in stations:
            v = (values.get(s["id"]) or {}).get(day) if day else None
            rows.append({**self.public(s), "date": day, **self._day(v, day)})
        return {"date": day, "edition": air.edition_for(day) if day else None, "stations": rows}

    @staticmethod
    def _day(values: dict | None, day: str | None) -> dict:
        if not values:
            return {"aqi": None, "category": None, "level_num": None, "color": NO_DATA_COLOR, "primary_pollutants_zh": [],
                    "iaqi": [], "values": {}, "notes": []}
        r = air.aqi(_engine_values(values), day)
        return {"aqi": r["aqi"], "category": r["category"], "level_num": r["level_num"], "color": r["color"] or NO_DATA_COLOR,
                "primary_pollutants_zh": r["primary_pollutants_zh"],
                "iaqi": [{"indicator": k, "name_zh": e["name_zh"], "concentration": e["concentration"], "unit": e["unit"], "iaqi": e["iaqi"]}
                         for k, e in r["iaqi"].items()],
                "values": values, "notes": r["notes"], "standard": r["edition"]["standards"]["aqi"]}

    @staticmethod
    def public(s: dict) -> dict:
        return {k: s[k] for k in ("id", "name", "adcode", "county", "level", "station_type", "lon", "lat")}

    # --- one station's year -------------------------------------------------------------------------------------

    def station_series(self, station_id: str, year=None, end: str | None = None, days: int | None = None) -> dict:
        """A station's daily AQI, class, PM2.5 and the PM2.5 24-h limit in force each day: a calendar year, or the
        `days` days up to `end` (the popup's trend)."""
        s = self.station(station_id)
        end = self._check_date(end)
        year = self._check_year(year)
        if days is not None:
            if not str(days).isdigit() or not 1 <= int(days) <= 366:
                raise DataError(f"days 应为 1–366 的整数，收到：{str(days)[:10]}", f"days must be an integer 1–366, got {str(days)[:10]!r}")
            days = int(days)
        if days and not end:
            end = self.measurements.span([station_id])["last"] or date.today().isoformat()
        if end and days:
            start = (date.fromisoformat(end) - timedelta(days=days - 1)).isoformat()
        else:
            if year is None:
                last = self.measurements.span([station_id])["last"]
                year = int(last[:4]) if last else date.today().year
            start, end = f"{year:04d}-01-01", f"{year:04d}-12-31"
        values = self.daily([station_id], start, end).get(station_id) or {}
        out = []
        for d in sorted(values):
            r = self._day(values[d], d)
            limits = air.limits_for(d)["limits"]["PM2.5"]
            out.append({"date": d, "aqi": r["aqi"], "category": r["category"], "level_num": r["level_num"], "color": r["color"],
                        "pm25": values[d].get("PM2.5"), "pm25_limit_24h": limits["24h"], "standard": r.get("standard")})
        return {"station": self.public(s), "start": start, "end": end, "year": year, "days": out,
                "classes": aqi_classes(end),
                "limits_zh": "PM2.5 24小时平均二级浓度限值按各日适用的 GB 3095 版本（2026-03-01 起 GB 3095-2026）",
                "data": self.data_status()}

    # --- a year ---------------------------------------------------------------------------------------------------

    def annual(self, adcode: str, year=None) -> dict:
        """Each station's HJ 663 annual assessment, the district's city value from its 评价城市点, and the plan's air
        indicators judged on that city value. Kept per district, year and latest import (an import is the only way
        the values change), at most ANNUAL_CACHE entries."""
        self._check_district(adcode)
        year = self._check_year(year)
        imports = self.measurements.imports()
        key = (adcode, year, imports[-1]["import_id"] if imports else None)
        with self._lock:
            found = self._annual.get(key)
        if found is None:
            found = self._assess_year(adcode, year)
            with self._lock:
                while len(self._annual) >= ANNUAL_CACHE:
                    self._annual.pop(next(iter(self._annual)))
                self._annual[key] = found
        return {**found, "data": self.data_status()}

    def _assess_year(self, adcode: str, year: int | None) -> dict:
        stations = self.district_stations(adcode)
        years = self.years(adcode)
        if year is None:
            year = years[-1] if years else None
        values = self.daily([s["id"] for s in stations], f"{year:04d}-01-01", f"{year:04d}-12-31") if year else {}
        rows, city_input = [], {}
        for s in stations:
            v = values.get(s["id"]) or {}
            daily = {"dates": sorted(v), "values": {k: [v[d].get(k) for d in sorted(v)] for k in _series(v)}}
            res = air.assess_station(daily, year=year, name=s["name"]) if v else None
            rows.append({**self.public(s), **self._annual_row(res)})
            if v and s["station_type"] == CITY_STATION_TYPE:
                city_input[s["name"]] = daily
        city = air.assess_city(city_input, year=year, name=self._district_name(adcode), include_stations=False) if city_input else None
        scope = f"{self._district_name(adcode)}环境空气质量评价城市点（{len(city_input)} 个）"
        plan = self.plans.get(adcode) or {}
        return {"district": adcode, "year": year, "years": years, "stations": rows,
                "city": self._city_summary(city, city_input), "plan_indicators": compare_with_plan(city, plan, scope),
                "city_rule_zh": (f"区县的年评价值取其环境空气质量评价{CITY_STATION_TYPE}（{'、'.join(city_input) or '无'}）的日值平均后按 HJ 663 统计，"
                                 "不含网格化微站、区域点与背景点，也不取最差站点")}

    def _district_name(self, adcode: str) -> str:
        plan = self.plans.get(adcode)
        if plan:
            return plan["name"]
        return next((s["county"] for s in self.stations if s["adcode"] == adcode and s["county"]), adcode)

    @staticmethod
    def _annual_row(res: dict | None) -> dict:
        if res is None:
            status = vocabulary.status("target", "undetermined")
            return {"status": status, "status_color": _status_color(status), "pm25_annual": None, "good_days": None,
                    "good_days_ratio": None, "valid_aqi_days": 0, "failing_pollutants": [], "undetermined_pollutants": [],
                    "standard_zh": None, "reason": "该年没有监测数据"}
        pm = next(st for st in res["pollutants"]["PM2.5"]["statistics"] if st["statistic"] == "annual_mean")
        return {"status": res["status"], "status_color": _status_color(res["status"]),
                "pm25_annual": pm["value"] if pm["validity"]["ok"] else None, "good_days": res["good_days"],
                "good_days_ratio": res["good_days_ratio"], "valid_aqi_days": res["valid_aqi_days"],
                "failing_pollutants": res["failing_pollutants"], "undetermined_pollutants": res["undetermined_pollutants"],
                "standard_zh": res["standard_zh"], "reason": "；".join(res["notes"])}

    @staticmethod
    def _city_summary(city: dict | None, city_input: dict) -> dict | None:
        if city is None:
            return None
        keep = ("year", "status", "failing_pollutants", "undetermined_pollutants", "good_days", "valid_aqi_days", "good_days_ratio",
                "days_by_category", "good_days_rule_zh", "standard_zh", "edition", "notes", "stations_per_day", "city_rule_zh")
        out = {k: city.get(k) for k in keep}
        out["stations"] = list(city_input)
        out["statistics"] = [{"pollutant": p, "name_zh": v["name_zh"], "status": v["status"], "statistic_zh": st["statistic_zh"],
                              "value": st["value"], "unit": st["unit"], "limit": st["limit"], "limit_zh": st["limit_zh"],
                              "valid": st["validity"]["ok"], "valid_days": st["validity"]["valid_days"], "row_status": st["status"]}
                             for p, v in city["pollutants"].items() for st in v["statistics"]]
        return out

    def station_assessment(self, station_id: str, year=None) -> dict:
        """One station's full HJ 663 annual assessment (every statistic, its validity and the standard used)."""
        s = self.station(station_id)
        year = self._check_year(year)
        v = self.daily([station_id]).get(station_id) or {}
        if not v:
            raise DataError(f"站点 {s['name']} 没有监测数据", f"station {station_id} has no data")
        daily = {"dates": sorted(v), "values": {k: [v[d].get(k) for d in sorted(v)] for k in _series(v)}}
        return {"station": self.public(s), **air.assess_station(daily, year=year or int(max(v)[:4]), name=s["name"])}

    def import_file(self, filename: str, data: bytes, audit_token: str | None = None) -> dict:
        """All or nothing: a file with any bad row is refused whole, naming every bad row."""
        return import_file(self.measurements, filename, data, self.stations, audit_token=audit_token)


def _series(by_day: dict) -> list[str]:
    return sorted({k for v in by_day.values() for k in v})


def aqi_classes(on: str | None = None) -> list[dict]:
    """The AQI classes (优 … 严重污染) with their colours and upper bounds, of the HJ 633 edition in force on a date."""
    ed, _ = resolve(on or date.today().isoformat())
    return [{"category": c["category"], "level": c["level"], "color": c["color"], "max_aqi": c.get("max_aqi")} for c in ed["aqi"]["classes"]]


# --- what the routes and the CLI call ------------------------------------------------------------------------------

def calculate(payload) -> dict:
    """The stateless AQI calculator: {"date": "YYYY-MM-DD", "values": {"PM2.5": 80, ...}} (24-hour means; CO mg/m³)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("values"), dict) or not payload.get("date"):
        raise DataError('请求体须为 {"date": "YYYY-MM-DD", "values": {"PM2.5": 80, "PM10": 120, "SO2": 10, "NO2": 40, "CO": 0.8, "O3_8h": 150}}',
                        'body must be {"date": "YYYY-MM-DD", "values": {...}} with 24-hour means (CO in mg/m³)')
    return air.aqi(payload["values"], payload["date"])


def air_report(ctx, actor, adcode: str, day: str | None = None, year=None, title: str = "空气质量") -> dict:
    """A district's stations on a day and over a year, and the plan's air indicators, audited."""
    service = ctx.live.get().air
    result = {"district": adcode, "day": service.day_rows(adcode, day), "annual": service.annual(adcode, year)}
    result["data"] = result["annual"].pop("data")
    imports = result["data"]["imports"]
    ctx.record(actor, "air", f"{title} {adcode} {result['day']['date']} {result['annual']['year']}：" + "；".join(
        f"{c['name']} {c['status']}" for c in result["annual"]["plan_indicators"]), {"air_import": imports[-1]["import_id"] if imports else None},
               read=True)
    return result


def import_measurements(ctx, actor, filename: str, data: bytes) -> dict:
    """All-or-nothing import (a DataError lists every bad row), audited with the file's hash."""
    return ctx.record_import(actor, "air_import", filename, data, lambda token: ctx.live.get().air.import_file(filename, data, token),
                             lambda done: (f"导入环境空气质量{done['resolution_zh']} {done['n_records']} 条（{filename}）",
                                           {"air_import": done["import_id"]}))


MODES = {"day": "按日 AQI 类别着色", "year": "按年度评价着色"}


def air_page(ctx, actor, adcode: str, day=None, year=None, mode=None, station_id=None) -> dict:
    """What the air page shows: the report, map rows (the day's AQI and the year's status per station), the colour
    legend of the chosen mode, and one station's year for the trend chart and the calendar."""
    mode = mode or "day"
    if mode not in MODES:
        raise DataError(f"mode 只能是 {' 或 '.join(MODES)}，收到：{str(mode)[:20]}", f"mode must be one of {', '.join(MODES)}, got {str(mode)[:20]!r}")
    report = air_report(ctx, actor, adcode, day, year, title="空气质量页面")
    service = ctx.live.get().air
    annual = {r["id"]: r for r in report["annual"]["stations"]}
    rows = [{**r, **{k: v for k, v in annual[r["id"]].items() if k not in r}} for r in report["day"]["stations"]]
    if mode == "day":
        legend = {"title": f"空气质量指数类别（{report['day']['edition']['standards']['aqi'] if report['day']['edition'] else 'HJ 633'}）",
                  "items": [{"label": f"{c['category']}（{c['level']}）", "color": "#333", "fill": c["color"], "shape": "polygon"}
                            for c in aqi_classes(report["day"]["date"])] + [{"label": "无数据", "color": "#333", "fill": NO_DATA_COLOR, "shape": "polygon"}]}
    else:
        legend = {"title": f"{report['annual']['year']} 年评价（HJ 663）",
                  "items": [{"label": s["label"], "color": "#333", "fill": s["color"], "shape": "polygon"}
                            for s in vocabulary.default().statuses["target"].values()]}
    chosen = None
    if station_id:
        chosen = service.station(station_id)
        if chosen["adcode"] != adcode:
            raise NotFoundError(f"站点 {chosen['name']} 不在该区县", f"station {station_id} is not in district {adcode}")
    elif rows:
        chosen = next((r for r in rows if r["station_type"] == CITY_STATION_TYPE and r["aqi"] is not None), rows[0])
    y = report["annual"]["year"]
    station_year = service.station_series(chosen["id"], y) if chosen and y else None
    return {**report, "mode": mode, "modes": MODES, "year": y, "map_rows": rows, "colour_legend": legend,
            "station": chosen and service.public(chosen), "station_year": station_year,
            "station_assessment": annual.get(chosen["id"]) if chosen else None, "aqi_classes": aqi_classes(report["day"]["date"])}
