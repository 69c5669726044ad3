"""Printable screening report (审查意见): HTML rendered to PDF by WeasyPrint, with the map figure of each site drawn
server-side (render/map_figure.py, no tiles, no browser), so the PDF can be made on an offline machine. Fonts come
from the system: a CJK font (fonts-noto-cjk) must be installed for Chinese text to embed.
"""
from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import jinja2

from geo import vocabulary
from geo.crs import label_zh
from geo.errors import UnavailableError
from render import report_model

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
_env.filters["status_css"] = vocabulary.status_css
_env.filters["geometry_zh"] = vocabulary.geometry_type_zh
_env.filters["zh"] = report_model.zh_text
_env.filters["crs_zh"] = label_zh
_env.globals.update(plane_note=report_model.plane_note, part_text=report_model.part_text, no_inside_parts=report_model.NO_INSIDE_PARTS)


def cjk_font_available() -> bool:
    if not shutil.which("fc-list"):
        return False
    out = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, timeout=10).stdout
    return bool(out.strip())


def render_pdf(html: str) -> bytes:
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: Pango missing
        raise UnavailableError("服务器未安装 PDF 组件（WeasyPrint/Pango），无法生成 PDF", f"PDF rendering unavailable: {exc}") from None
    if not cjk_font_available():
        raise UnavailableError("服务器缺少中文字体（请安装 fonts-noto-cjk），无法生成 PDF", "no CJK font installed (fonts-noto-cjk)")
    return weasyprint.HTML(string=html).write_pdf()


def screening_pdf(results: list[dict], public_results: list[dict], vocab, summary: dict | None = None,
                  indices: list[int] | None = None, figures: list[bytes] | None = None) -> bytes:
    """The printable 审查意见 of a screening: cover, then per site its conclusion, map figure (figures: PNG per site),
    tables, 界址点坐标成果表 and inside parts, then the method and the signature block. summary: the summary of a
    large screening (services.exports.report_selection) shown first; indices: the sites' numbers."""
    model = report_model.build(results, vocab, indices)
    html = _env.get_template("report.html").render(
        results=public_results, model=model, vocab=vocab, summary=summary, indices=[s["index"] for s in model["sites"]],
        figures=[base64.b64encode(f).decode() for f in figures] if figures else [None] * len(results),
        generated=report_model.date_zh(public_results[0]["method"]["checked_at"]))
    return render_pdf(html)


def table_pdf(title: str, columns: list[str], rows: list[dict], about: list[tuple[str, str]], notes: list[str] = ()) -> bytes:
    """A landscape A4 table (the shares or sections page's table) with its 说明 block; notes: long-text columns printed
    under the table per row (附：判定规则与方法) instead of as columns."""
    return render_pdf(_env.get_template("table_report.html").render(
        title=title, columns=[c for c in columns if c not in notes], rows=rows, about=about, notes=list(notes), key=columns[0]))
