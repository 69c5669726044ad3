"""Section measurements: one row per section × date × parameter, in the state database
(its own SQLite file by default, PostgreSQL when DATABASE_URL is set).

An import is one transaction, so a file is either fully stored or not at all, matching the
all-or-nothing policy of geo.water.parse_measurements. Re-importing a section × date ×
parameter replaces the earlier value (a corrected file supersedes the old one); the import that
wrote each value is recorded.
"""
from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timezone

from geo.water import PARAMETER_KEYS
from state.db import SqliteDatabase


class MeasurementStore:
    """Over the state database (PostgreSQL when configured) or its own SQLite file (a path, or ":memory:")."""

    def __init__(self, db_or_path):
        self.db = db_or_path if hasattr(db_or_path, "transaction") else SqliteDatabase(db_or_path, migrations="measurements")

    def close(self):
        self.db.close()

    def import_of_audit_token(self, token: str | None) -> dict | None:
        return import_of_audit_token(self.db, "imports", "measurements_import", token)

    def import_records(self, records: list[dict], source_name: str, audit_token: str | None = None) -> dict:
        """Store parsed records (geo.water.parse_measurements) in ONE transaction.

        Returns {"import_id", "source_name", "imported_at", "n_records", "n_values"}. Raises
        ValueError (nothing stored) if a record lacks section_id/date/period or has an unknown
        parameter or a non-finite value.
        """
        rows = []
        for i, rec in enumerate(records):
            try:
                sid, d, period, values = rec["section_id"], str(rec["date"]), rec["period"], rec["values"]
            except KeyError as exc:
                raise ValueError(f"record {i}: missing {exc}") from exc
            for k, v in values.items():
                if k not in PARAMETER_KEYS:
                    raise ValueError(f"record {i}: unknown parameter {k!r}")
                if v is None:
                    continue
                if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
                    raise ValueError(f"record {i}: {k} is not a finite number: {v!r}")
                rows.append((sid, d, period, k, float(v)))
        imported_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self.db.transaction() as tx:  # commits on success, rolls back on any exception
            import_id = tx.execute("INSERT INTO imports (source_name, imported_at, n_records, audit_token) VALUES (?, ?, ?, ?) RETURNING id",
                                   (source_name, imported_at, len(records), audit_token))[0][0]
            tx.executemany(
                "INSERT INTO measurements (section_id, date, period, parameter, value, import_id) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (section_id, date, parameter) DO UPDATE SET period = excluded.period, value = excluded.value, "
                "import_id = excluded.import_id", [r + (import_id,) for r in rows])
        return {"import_id": import_id, "source_name": source_name, "imported_at": imported_at,
                "n_records": len(records), "n_values": len(rows)}

    def _records(self, where: str, args: tuple) -> list[dict]:
        grouped: dict[tuple, dict] = defaultdict(dict)
        for sid, d, period, k, v in self.db.execute(
                f"SELECT section_id, date, period, parameter, value FROM measurements WHERE {where} ORDER BY date, parameter", args):
            grouped[(sid, d, period)][k] = v
        return [{"section_id": sid, "date": d, "period": p, "values": vals} for (sid, d, p), vals in grouped.items()]

    def series(self, section_id: str) -> list[dict]:
        """All samples of a section by date: [{"section_id", "date", "period", "values": {key: float}}]."""
        return self._records("section_id = ?", (section_id,))

    def latest(self, section_id: str, period: str | None = None) -> dict | None:
        """Samples of the section's latest month, or of `period` (YYYY-MM) if given.

        Returns {"period": "YYYY-MM", "records": [...as series...]}, or None if there are none.
        """
        if period is None:
            period = self.db.execute("SELECT MAX(period) FROM measurements WHERE section_id = ?", (section_id,))[0][0]
            if period is None:
                return None
        recs = self._records("section_id = ? AND period = ?", (section_id, period))
        return {"period": period, "records": recs} if recs else None

    def periods(self, section_id: str | None = None) -> list[str]:
        """Distinct months (YYYY-MM) with data, ascending; for one section if given."""
        sql, args = "SELECT DISTINCT period FROM measurements", ()
        if section_id is not None:
            sql, args = sql + " WHERE section_id = ?", (section_id,)
        return [r[0] for r in self.db.execute(sql + " ORDER BY period", args)]

    def imports(self) -> list[dict]:
        """Every import, oldest first: lets pages say whether they show demo or imported data."""
        rows = self.db.execute("SELECT id, source_name, imported_at, n_records FROM imports ORDER BY id")
        return [{"import_id": r[0], "source_name": r[1], "imported_at": r[2], "n_records": r[3]} for r in rows]

    def values_by_import(self) -> dict[int, int]:
        """How many stored values each import still supplies (later imports replace earlier values)."""
        rows = self.db.execute("SELECT import_id, COUNT(*) FROM measurements GROUP BY import_id")
        return {i: n for i, n in rows}


def import_of_audit_token(db, table: str, version_key: str, token: str | None) -> dict | None:
    """The import made under a pending audit row's token, as that row is completed with (services.context settles the
    rows a killed process left), or None if there is none. table: imports or air_imports."""
    rows = db.execute(f"SELECT id, source_name, n_records FROM {table} WHERE audit_token = ?", (token,)) if token else []
    if not rows:
        return None
    import_id, source, n = rows[0]
    return {"summary": f"导入 {n} 条（{source}；进程中断，启动时确认已导入）", "versions": {version_key: import_id}}
