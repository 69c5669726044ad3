"""CSV and Excel tables: the spreadsheet forms of screening, shares, sections and audit rows.

Cells hold uploaded text (site and feature names), so text Excel would run as a formula gets
a leading apostrophe and every string cell is typed as text.
"""
from __future__ import annotations

import csv
import io

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell_text(value):
    """Spreadsheet-safe value: text that Excel would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def rows_to_csv(rows: list[dict], columns) -> str:
    buf = io.StringIO()
    buf.write("\ufeff")  # BOM so that Excel opens the Chinese text as UTF-8
    writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    writer.writerows({k: cell_text(v) for k, v in row.items()} for row in rows)
    return buf.getvalue()


def rows_to_xlsx(rows: list[dict], columns, title: str) -> bytes:
    """An Excel sheet in write-only (streaming) mode: linear in the rows, whatever their number."""
    return sheets_to_xlsx([(title, columns, rows)])


def sheets_to_xlsx(sheets) -> bytes:
    """A workbook of (title, columns, rows) sheets, the first one active; rows are dicts keyed by column."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    for title, columns, rows in sheets:
        ws = wb.create_sheet(_sheet_title(title))
        ws.append(list(columns))
        for row in rows:
            cells = []
            for c in columns:
                cell = WriteOnlyCell(ws, value=cell_text(row.get(c, "")))  # a missing column is an empty cell, as in CSV
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # never a formula, whatever the text
                cells.append(cell)
            ws.append(cells)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _sheet_title(title: str) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\."""
    return "".join("_" if ch in "[]:*?/\\" else ch for ch in title)[:31] or "Sheet"


def write_table(path, rows: list[dict], columns, title: str) -> None:
    """rows to PATH as .xlsx, else as UTF-8 CSV."""
    from pathlib import Path

    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        path.write_bytes(rows_to_xlsx(rows, columns, title))
    else:
        path.write_text(rows_to_csv(rows, columns), encoding="utf-8")
