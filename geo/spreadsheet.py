"""Reading a table a reviewer made in Excel or exported as CSV (UTF-8 or GBK), for the all-or-nothing imports of
monitoring data: the rows as cells, spreadsheet column letters and row numbers for messages, and the one refusal
that lists every bad row. Water and air imports read their files through here, so both accept the same files."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from geo.errors import DataError, UnavailableError

# A monitoring table is a few dozen columns and at most a few hundred thousand rows (25 stations × a year of hours
# is 219,000); past these a file is refused before it is held in memory, whatever its declared dimension says.
MAX_TABLE_ROWS = 500_000
MAX_TABLE_COLUMNS = 200


def _too_large(filename: str, what_zh: str, what_en: str, limit: int):
    raise DataError(f"{filename}：{what_zh}超过 {limit:,} ，不像是监测数据表；请拆分文件或删去无关的行列后重新导入",
                    f"{filename}: more than {limit:,} {what_en}; split the file or remove unrelated rows and columns")


def _bounded(rows, filename: str) -> list[list]:
    """Rows as lists without trailing empty cells, refused past MAX_TABLE_ROWS rows or MAX_TABLE_COLUMNS columns."""
    out = []
    for i, r in enumerate(rows):
        if i >= MAX_TABLE_ROWS + 1:  # the header and MAX_TABLE_ROWS data rows
            _too_large(filename, "行数", "rows", MAX_TABLE_ROWS)
        row = list(r)
        while row and (row[-1] is None or row[-1] == ""):
            row.pop()
        if len(row) > MAX_TABLE_COLUMNS:
            _too_large(filename, "列数", "columns", MAX_TABLE_COLUMNS)
        out.append(row)
    return out


def col_letter(idx: int) -> str:
    """Spreadsheet column letter of a 0-based index: 0 → A, 26 → AA."""
    s, n = "", idx + 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


def cell(row: list, i: int | None):
    """The cell at column i, None past the end of a short row or for an absent column."""
    return row[i] if i is not None and i < len(row) else None


def cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def read_rows(data: bytes, filename: str) -> list[list]:
    """The first sheet of an .xlsx, or a CSV decoded as UTF-8 (with or without BOM) or GB18030, as lists of cells
    (trailing empty cells dropped); bounded by MAX_TABLE_ROWS and MAX_TABLE_COLUMNS."""
    ext = Path(filename).suffix.lower()
    if ext == ".csv":
        text = None
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        if text is None:
            raise DataError(f"{filename}：无法按 UTF-8 或 GBK 解码", f"{filename}: not decodable as UTF-8 or GBK")
        try:
            return _bounded(csv.reader(io.StringIO(text, newline="")), filename)
        except csv.Error as exc:
            raise DataError(f"{filename}：CSV 格式错误：{exc}", f"{filename}: malformed CSV: {exc}") from exc
    if ext in (".xlsx", ".xlsm"):
        try:
            import openpyxl
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise UnavailableError("服务器未安装 openpyxl，无法读取 Excel；请另存为 CSV",
                                   "openpyxl is not installed: save the sheet as CSV") from exc
        try:
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a corrupt file
            raise DataError(f"{filename}：不是有效的 .xlsx 文件（{exc}）", f"{filename}: not a valid .xlsx file ({exc})") from exc
        try:
            ws = wb.worksheets[0]
            ws.reset_dimensions()  # the sheet's declared size (A1:XFD1048576 in a 2 KB bomb) is not believed: rows as stored
            return _bounded(ws.iter_rows(values_only=True, max_col=MAX_TABLE_COLUMNS + 1), filename)
        finally:
            wb.close()
    if ext == ".xls":
        raise DataError(f"{filename}：不支持旧版 .xls，请在 Excel 中另存为 .xlsx 或 CSV",
                        f"{filename}: legacy .xls is not supported; save as .xlsx or CSV")
    raise DataError(f"{filename}：只支持 .csv 和 .xlsx 文件", f"{filename}: only .csv and .xlsx files are supported")


def table_rows(path_or_bytes, filename: str) -> list[list]:
    """The rows of a file (a path or its bytes) with trailing blank rows dropped; a DataError for an empty file or
    one whose first row is not a header."""
    data = Path(path_or_bytes).read_bytes() if isinstance(path_or_bytes, (str, Path)) else bytes(path_or_bytes)
    if not data.strip():
        raise DataError(f"{filename}：文件为空", f"{filename}: the file is empty")
    rows = read_rows(data, filename)
    while rows and all(cell_text(c) == "" for c in rows[-1]):
        rows.pop()
    if not rows or all(cell_text(c) == "" for c in rows[0]):
        raise DataError(f"{filename}：文件为空或第1行不是表头", f"{filename}: empty, or row 1 is not a header")
    return rows


def refuse(filename: str, errors: list[dict]):
    """One DataError for the whole file, naming the bad rows and the first problem; details["errors"] has them all."""
    bad_rows = sorted({e["row"] for e in errors})
    rows_txt = "、".join(str(r) for r in bad_rows[:20]) + ("…" if len(bad_rows) > 20 else "")
    first = errors[0]
    raise DataError(
        f"{filename}：有 {len(errors)} 处错误（第 {rows_txt} 行），整个文件未导入，请改正后重新导入。"
        f"首个错误：第{first['row']}行 {first['column']}：{first['problem']}",
        f"{filename}: {len(errors)} problem(s) in row(s) {', '.join(map(str, bad_rows[:20]))}; nothing was imported, "
        f"fix the file and import it again. First: row {first['row']} {first['column']}: {first['problem_en']}",
        {"file": filename, "bad_rows": bad_rows, "errors": errors})
