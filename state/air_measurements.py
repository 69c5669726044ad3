"""Air-quality monitoring values: one row per station × day (or hour) × pollutant, in the state database
(the measurements SQLite file by default, PostgreSQL when DATABASE_URL is set).

An import is one transaction, so a file is either fully stored or not at all, matching the all-or-nothing
policy of geo.air.measurements.parse_air_measurements. Re-importing a station × day (daily) or station × hour
(hourly) replaces that row: every value the earlier import stored for it goes, the new file's values take
its place (a blank cell in a corrected file removes a wrong value). The import that wrote each value is
recorded, so pages can say whether they show demo or imported data.

Values are µg/m³, CO mg/m³. Daily pollutants: PM2.5, PM10, SO2, NO2, CO (24-h means), O3 (daily maximum
1-h) and O3_8h (daily maximum 8-h average); hourly: PM2.5, PM10, SO2, NO2, CO, O3 (1-h values).
"""
from __future__ import annotations

import math
import re
from collections import defaultdict
from datetime import date, datetime, timezone
from pathlib import Path

from geo.air.measurements import DAILY_POLLUTANTS, HOURLY_POLLUTANTS, parse_air_measurements
from geo.errors import DataError
from state.db import SqliteDatabase
from state.measurements import import_of_audit_token

DEMO_CSV = Path(__file__).resolve().parent.parent / "data" / "demo_air_daily.csv"
DEMO_SOURCE = "示意空气质量数据（data/demo_air_daily.csv，非实测）"
# the daily series names of geo.air.assess_station for the stored daily pollutants
ENGINE_SERIES = {"PM2.5": "PM2.5", "PM10": "PM10", "SO2": "SO2", "NO2": "NO2", "CO": "CO", "O3": "O3_1h", "O3_8h": "O3_8h"}

_TABLES = {"daily": ("air_daily", "date", DAILY_POLLUTANTS), "hourly": ("air_hourly", "datetime", HOURLY_POLLUTANTS)}
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")


class AirMeasurementStore:
    """Over the state database object (the one MeasurementStore uses: PostgreSQL when configured, else the
    measurements SQLite file) or its own SQLite file (a path, or ":memory:"); the tables come from the
    migrations measurements/0002_air.sql and postgres/0005_air.sql."""

    def __init__(self, db_or_path):
        self.db = db_or_path if hasattr(db_or_path, "transaction") else SqliteDatabase(db_or_path, migrations="measurements")

    def close(self):
        self.db.close()

    # --- writing ---------------------------------------------------------------------------------------------

    def import_of_audit_token(self, token: str | None) -> dict | None:
        return import_of_audit_token(self.db, "air_imports", "air_import", token)

    def import_parsed(self, parsed: dict, source_name: str, audit_token: str | None = None) -> dict:
        """Store the result of parse_air_measurements in ONE transaction.

        Returns {"import_id", "source_name", "imported_at", "resolution", "n_records", "n_values",
        "n_replaced" (earlier values removed because the file gives their station × day/hour again)}.
        Raises ValueError (nothing stored) if the resolution is unknown, a record lacks station_id or its
        date/datetime, or has a pollutant of the other resolution or a value that is not a finite number ≥ 0."""
        resolution = parsed.get("resolution")
        if resolution not in _TABLES:
            raise ValueError(f"unknown resolution {resolution!r}")
        table, stamp_col, allowed = _TABLES[resolution]
        keys, rows = [], []
        for i, rec in enumerate(parsed["records"]):
            try:
                sid, stamp, values = str(rec["station_id"]), str(rec[stamp_col]), rec["values"]
            except KeyError as exc:
                raise ValueError(f"record {i}: missing {exc}") from exc
            if not (_DATE_RE if resolution == "daily" else _DATETIME_RE).match(stamp):
                raise ValueError(f"record {i}: {stamp_col} {stamp!r} is not {'YYYY-MM-DD' if resolution == 'daily' else 'YYYY-MM-DD HH:MM'}")
            keys.append((sid, stamp))
            for k, v in values.items():
                if k not in allowed:
                    raise ValueError(f"record {i}: pollutant {k!r} is not a {resolution} pollutant ({', '.join(allowed)})")
                if v is None:
                    continue
                if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v < 0:
                    raise ValueError(f"record {i}: {k} is not a finite number ≥ 0: {v!r}")
                rows.append((sid, stamp, k, float(v)))
        imported_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        postgres = getattr(self.db, "dialect", "sqlite") == "postgres"
        with self.db.transaction() as tx:  # commits on success, rolls back on any exception
            import_id = tx.execute("INSERT INTO air_imports (source_name, imported_at, resolution, n_records, n_values, audit_token) "
                                   "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                                   (source_name, imported_at, resolution, len(keys), len(rows), audit_token))[0][0]
            replaced = 0
            keys = list(dict.fromkeys(keys))
            if tx.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")[0][0]:
                # the station × day/hour rows the file gives: staged in a temporary table, their old values removed
                if postgres:
                    tx.execute("CREATE TEMP TABLE air_import_keys (station_id TEXT NOT NULL, stamp TEXT NOT NULL, "
                               "PRIMARY KEY (station_id, stamp)) ON COMMIT DROP")
                    with tx.cursor.copy("COPY air_import_keys (station_id, stamp) FROM STDIN") as copy:
                        for k in keys:
                            copy.write_row(k)
                else:
                    tx.execute("CREATE TEMP TABLE IF NOT EXISTS air_import_keys (station_id TEXT NOT NULL, stamp TEXT NOT NULL, "
                               "PRIMARY KEY (station_id, stamp)) WITHOUT ROWID")
                    tx.execute("DELETE FROM air_import_keys")
                    tx.executemany("INSERT INTO air_import_keys VALUES (?, ?)", keys)
                match = f"EXISTS (SELECT 1 FROM air_import_keys k WHERE k.station_id = {table}.station_id AND k.stamp = {table}.{stamp_col})"
                replaced = tx.execute(f"SELECT COUNT(*) FROM {table} WHERE {match}")[0][0]
                if replaced:
                    tx.execute(f"DELETE FROM {table} WHERE {match}")
                if not postgres:
                    tx.execute("DELETE FROM air_import_keys")
            if postgres:
                with tx.cursor.copy(f"COPY {table} (station_id, {stamp_col}, pollutant, value, import_id) FROM STDIN") as copy:
                    for r in rows:
                        copy.write_row(r + (import_id,))
            else:
                tx.executemany(f"INSERT INTO {table} (station_id, {stamp_col}, pollutant, value, import_id) VALUES (?, ?, ?, ?, ?)",
                               [r + (import_id,) for r in rows])
        return {"import_id": import_id, "source_name": source_name, "imported_at": imported_at, "resolution": resolution,
                "n_records": len(keys), "n_values": len(rows), "n_replaced": int(replaced)}

    # --- reading ---------------------------------------------------------------------------------------------

    def _select(self, resolution: str, station_ids, start, end) -> list[tuple]:
        table, stamp_col, _ = _TABLES[resolution]
        where, args = [], []
        if station_ids is not None:
            ids = [str(s) for s in ([station_ids] if isinstance(station_ids, str) else station_ids)]
            if not ids:
                return []
            where.append(f"station_id IN ({', '.join('?' * len(ids))})")
            args += ids
        lo, hi = _bounds(resolution, start, end)
        if lo is not None:
            where.append(f"{stamp_col} >= ?")
            args.append(lo)
        if hi is not None:
            where.append(f"{stamp_col} <= ?")
            args.append(hi)
        sql = f"SELECT station_id, {stamp_col}, pollutant, value FROM {table}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self.db.execute(sql + f" ORDER BY station_id, {stamp_col}, pollutant", tuple(args))

    def daily(self, station_ids=None, start=None, end=None) -> list[dict]:
        """Daily values, a plain list ordered by station, date, pollutant: [{"station_id", "date": "YYYY-MM-DD",
        "pollutant", "value"}]. station_ids: one id or a list (None: all); start/end: inclusive YYYY-MM-DD (or
        date objects). Daily O3 is the daily maximum 1-h value, O3_8h the daily maximum 8-h average."""
        return [{"station_id": s, "date": d, "pollutant": p, "value": v} for s, d, p, v in self._select("daily", station_ids, start, end)]

    def hourly(self, station_ids=None, start=None, end=None) -> list[dict]:
        """Hourly values, a plain list ordered by station, hour, pollutant: [{"station_id", "datetime":
        "YYYY-MM-DD HH:MM", "pollutant", "value"}]. start/end: inclusive, YYYY-MM-DD HH:MM or YYYY-MM-DD
        (a date alone for end takes the whole day) or date/datetime objects."""
        return [{"station_id": s, "datetime": d, "pollutant": p, "value": v}
                for s, d, p, v in self._select("hourly", station_ids, start, end)]

    def daily_series(self, station_id: str, start=None, end=None) -> dict:
        """One station's daily values as geo.air.assess_station takes them: {"dates": [YYYY-MM-DD …] (days with
        any value, ascending), "values": {series: [value or None, …]}} with the engine's series names (stored
        daily O3 → O3_1h). Empty lists when there are none."""
        by_day: dict[str, dict] = defaultdict(dict)
        for _, d, p, v in self._select("daily", [station_id], start, end):
            by_day[d][ENGINE_SERIES[p]] = v
        dates = sorted(by_day)
        series = [ENGINE_SERIES[p] for p in DAILY_POLLUTANTS if any(ENGINE_SERIES[p] in by_day[d] for d in dates)]
        return {"dates": dates, "values": {s: [by_day[d].get(s) for d in dates] for s in series}}

    def span(self, station_ids) -> dict:
        """{"first": YYYY-MM-DD | None, "last": …, "years": [int]} of the days any of these stations has a value on
        (daily or hourly), read from the index rather than the values."""
        ids = [str(s) for s in station_ids]
        if not ids:
            return {"first": None, "last": None, "years": []}
        marks = ", ".join("?" * len(ids))
        years, first, last = set(), [], []
        for table, col in (("air_daily", "date"), ("air_hourly", "datetime")):
            lo, hi = self.db.execute(f"SELECT MIN({col}), MAX({col}) FROM {table} WHERE station_id IN ({marks})", tuple(ids))[0]
            if lo is None:
                continue
            first.append(lo[:10])
            last.append(hi[:10])
            years |= {int(r[0]) for r in self.db.execute(f"SELECT DISTINCT substr({col}, 1, 4) FROM {table} WHERE station_id IN ({marks})", tuple(ids))}
        return {"first": min(first) if first else None, "last": max(last) if last else None, "years": sorted(years)}

    def stations(self, resolution: str = "daily") -> list[str]:
        """Station ids with values of this resolution, sorted."""
        table = _TABLES[resolution][0]
        return [r[0] for r in self.db.execute(f"SELECT DISTINCT station_id FROM {table} ORDER BY station_id")]

    def imports(self) -> list[dict]:
        """Every import, oldest first: [{"import_id", "source_name", "imported_at", "resolution", "n_records", "n_values"}]."""
        rows = self.db.execute("SELECT id, source_name, imported_at, resolution, n_records, n_values FROM air_imports ORDER BY id")
        return [{"import_id": r[0], "source_name": r[1], "imported_at": r[2], "resolution": r[3], "n_records": r[4], "n_values": r[5]}
                for r in rows]

    def values_by_import(self) -> dict[int, int]:
        """How many stored values each import still supplies (later imports replace earlier rows)."""
        out: dict[int, int] = defaultdict(int)
        for table in ("air_daily", "air_hourly"):
            for i, n in self.db.execute(f"SELECT import_id, COUNT(*) FROM {table} GROUP BY import_id"):
                out[i] += n
        return dict(out)

    def data_status(self) -> dict:
        """Demo if any stored value still comes from the demo series; mixed if real values sit beside it:
        {"is_demo", "is_mixed", "demo_values", "imported_values", "imports"}."""
        imports = self.imports()
        live = self.values_by_import()
        demo_ids = {i["import_id"] for i in imports if i["source_name"] == DEMO_SOURCE}
        demo = sum(n for i, n in live.items() if i in demo_ids)
        other = sum(n for i, n in live.items() if i not in demo_ids)
        return {"is_demo": demo > 0, "is_mixed": demo > 0 and other > 0, "demo_values": demo, "imported_values": other, "imports": imports}


def _stamp_text(v, resolution: str, upper: bool) -> str | None:
    if v is None or v == "":
        return None
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d") if resolution == "daily" else v.strftime("%Y-%m-%d %H:%M")
    if isinstance(v, date):
        v = v.isoformat()
    text = str(v).strip().replace("T", " ")
    if _DATE_RE.match(text):
        return text if resolution == "daily" else text + (" 23:59" if upper else " 00:00")
    if _DATETIME_RE.match(text[:16]) and len(text) in (16, 19):
        return text[:10] if resolution == "daily" else text[:16]
    raise DataError(f"日期应为 YYYY-MM-DD（小时数据可为 YYYY-MM-DD HH:MM），收到：{text[:20]}",
                    f"dates are YYYY-MM-DD (hourly: YYYY-MM-DD HH:MM), got {text[:20]!r}")


def _bounds(resolution: str, start, end) -> tuple[str | None, str | None]:
    return _stamp_text(start, resolution, False), _stamp_text(end, resolution, True)


def import_file(store: AirMeasurementStore, filename: str, data: bytes, stations: list[dict], source_name: str | None = None,
                audit_token: str | None = None) -> dict:
    """Parse (all or nothing: a DataError lists every bad row) and store in one transaction.

    Returns the store's import record plus what the file held: {"import_id", "source_name", "imported_at",
    "resolution", "resolution_zh", "n_records", "n_values", "n_replaced", "pollutants", "stations", "start",
    "end", "ignored_columns"}."""
    parsed = parse_air_measurements(data, filename, stations)
    done = store.import_parsed(parsed, source_name or filename, audit_token)
    return {**done, **{k: parsed[k] for k in ("resolution_zh", "pollutants", "stations", "start", "end", "ignored_columns")}}


def import_demo_if_empty(store: AirMeasurementStore, stations: list[dict], path: Path = DEMO_CSV) -> dict | None:
    """Load the demo daily series (data/demo_air_daily.csv, 示意) when the store has never had an import, as the
    water demo data are; returns the import record, or None when the store already has imports. stations: the
    air_station layer's stations (geo.air.measurements.stations_from_features)."""
    if store.imports():
        return None
    return import_file(store, Path(path).name, Path(path).read_bytes(), stations, DEMO_SOURCE)
