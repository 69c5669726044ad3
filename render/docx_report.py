"""Editable screening report: a Word (.docx) document built with python-docx.

The same content as the PDF report (render/pdf.py, templates/report.html + _result_body.html +
_method.html), without the map, for reviewers to edit and paste into their 审查意见. Every text
taken from data (names, requirement texts, notes) goes in as a plain text run: python-docx writes
it escaped, nothing in it is read as markup or a field. East Asian text is set in Noto Sans CJK SC;
the font table names 宋体 (SimSun) as its alternate, the font Word substitutes where Noto is not
installed (LibreOffice substitutes through fontconfig).
"""
from __future__ import annotations

import io
import re
from datetime import datetime, timezone

import docx
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from geo import vocabulary
from geo.crs import label_zh
from render import report_model

TITLE = report_model.TITLE
CJK_FONT = "Noto Sans CJK SC"
CJK_FALLBACK = "宋体"  # SimSun: present on every Chinese Windows; Word substitutes it for a missing CJK_FONT
LATIN_FONT = "Arial"
TEXT_WIDTH_CM = 17.0  # A4 less 2 cm margins
LEVEL_COLORS = {"involved": "C00000", "near": "B35806", "clear": "1A7F37", "contact": "7A4F01", "unknown": "8A5A00"}
HEADER_FILL = "F3F3F3"
NOTICE_FILL = "FFF4D6"
CAVEAT = ("初筛结果，以主管部门审定的矢量数据为准。本报告中标注为“示意数据”的图层为按规划公布数字校准的演示几何，"
          "不是官方矢量，不能作为审查依据。")
ZONING_IN = ("within", "intersects")  # relations by which a site lies in a zoning unit (contact: boundary only)
# characters XML 1.0 cannot hold (control characters, lone surrogates, U+FFFE/U+FFFF): dropped, never an error
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value) -> str:
    return _NOT_XML.sub("", "" if value is None else str(value))


def _n(x, fmt: str = "%.2f") -> str:
    """A figure as the pages print it (the template's n() macro): '—' when it was not measured."""
    return fmt % x if x is not None else "—"


# ---------------------------------------------------------------- document set-up

def _fonts(rpr) -> None:
    """Explicit fonts on a run-properties element: theme fonts removed (they would win), CJK font for East Asian text."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    for attr, name in (("w:ascii", LATIN_FONT), ("w:hAnsi", LATIN_FONT), ("w:cs", LATIN_FONT), ("w:eastAsia", CJK_FONT)):
        fonts.set(qn(attr), name)


def _font_table(document) -> None:
    """Declare CJK_FONT in the font table with 宋体 as its alternate (w:altName) and the GB2312 charset."""
    part = next((rel.target_part for rel in document.part.rels.values() if rel.reltype.endswith("/fontTable")), None)
    if part is None:
        return
    from lxml import etree

    root = etree.fromstring(part.blob)
    for font in root.findall(qn("w:font")):
        if font.get(qn("w:name")) in (CJK_FONT, CJK_FALLBACK):
            root.remove(font)
    for name, alt in ((CJK_FONT, CJK_FALLBACK), (CJK_FALLBACK, "SimSun")):
        font = etree.SubElement(root, qn("w:font"))
        font.set(qn("w:name"), name)
        for tag, val in (("w:altName", alt), ("w:charset", "86"), ("w:family", "auto"), ("w:pitch", "variable")):
            etree.SubElement(font, qn(tag)).set(qn("w:val"), val)
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _new_document():
    document = docx.Document()
    styles = document.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _fonts(rpr)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    for fonts in styles.iter(qn("w:rFonts")):  # every style: theme fonts (Japanese in the default template) replaced
        _fonts(fonts.getparent())
    _font_table(document)
    normal = document.styles["Normal"]
    normal.font.size = Pt(10.5)
    normal.paragraph_format.space_after = Pt(4)
    normal.paragraph_format.line_spacing = 1.2
    for name, size in (("Title", 18), ("Heading 1", 14), ("Heading 2", 12), ("Heading 3", 11)):
        style = document.styles[name]
        style.font.size = Pt(size)
        style.font.color.rgb = RGBColor(0x11, 0x11, 0x11)
        style.paragraph_format.space_before = Pt(10 if name != "Title" else 0)
        style.paragraph_format.space_after = Pt(4)
    title = document.styles["Title"]
    title.font.bold = True
    title_ppr = title.element.get_or_add_pPr()
    for border in title_ppr.findall(qn("w:pBdr")):  # the default template underlines the title in blue
        title_ppr.remove(border)
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.0)
    section.top_margin = section.bottom_margin = Cm(2.0)
    _page_footer(section)
    props = document.core_properties
    props.title, props.author, props.last_modified_by = TITLE, "生态红线一张图", "生态红线一张图"
    props.comments, props.subject, props.keywords = "", "选址合规初筛", "生态保护红线;初筛"
    props.created = props.modified = datetime.now(timezone.utc).replace(microsecond=0)
    props.revision = 1
    return document


def _field(paragraph, instruction: str) -> None:
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _page_footer(section) -> None:
    p = section.footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.add_run("第 ")
    _field(p, "PAGE")
    p.add_run(" 页 / 共 ")
    _field(p, "NUMPAGES")
    p.add_run(" 页")
    for run in p.runs:
        run.font.size = Pt(9)


# ---------------------------------------------------------------- building blocks

def _shade(element, fill: str) -> None:
    """Background fill of a paragraph (w:pPr) or table cell (w:tcPr)."""
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    element.append(shd)


def _para(document, text: str = "", *, bold: bool = False, size: float | None = None, color: str | None = None,
          style: str | None = None, fill: str | None = None):
    p = document.add_paragraph(style=style)
    if text:
        _run(p, text, bold=bold, size=size, color=color)
    if fill:
        _shade(p._p.get_or_add_pPr(), fill)
    return p


def _run(paragraph, text, *, bold: bool = False, size: float | None = None, color: str | None = None, italic: bool = False):
    run = paragraph.add_run(_text(text))
    run.bold = bold or None
    run.italic = italic or None
    if size:
        run.font.size = Pt(size)
    if color:
        run.font.color.rgb = RGBColor.from_string(color)
    return run


def _table(document, header: list[str] | None, rows: list[list[str]], *, widths_cm: list[float] | None = None,
           numeric: set[int] = frozenset(), size: float = 9, header_column: bool = False):
    """A bordered table of plain-text cells; header row shaded and repeated on every page. widths_cm: the
    columns' widths (default: the first column wider, the rest equal), over the text width."""
    n_cols = len(header) if header else len(rows[0])
    table = document.add_table(rows=0, cols=n_cols)
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    if n_cols > 8:  # dense tables: narrower cell padding, so figures stay on one line
        margins = OxmlElement("w:tblCellMar")
        for side in ("left", "right"):
            margin = OxmlElement(f"w:{side}")
            margin.set(qn("w:w"), "57")  # twips: 1 mm
            margin.set(qn("w:type"), "dxa")
            margins.append(margin)
        table._tbl.tblPr.append(margins)
    widths_cm = widths_cm or _widths(n_cols)
    for column, width in zip(table.columns, widths_cm):
        column.width = Cm(width)
    lines = ([header] if header else []) + rows
    for r, values in enumerate(lines):
        cells = table.add_row().cells
        is_header = header is not None and r == 0
        for c, value in enumerate(values):
            cell = cells[c]
            p = cell.paragraphs[0]
            p.paragraph_format.space_after = Pt(0)
            p.paragraph_format.line_spacing = 1.0
            parts = value if isinstance(value, list) else [value]
            for i, part in enumerate(parts):  # a list: one line per item (line breaks, not markup)
                if i:
                    p.add_run().add_break()
                _run(p, part, bold=is_header or (header_column and c == 0), size=size)
            if c in numeric and not is_header:
                p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            if is_header or (header_column and c == 0):
                _shade(cell._tc.get_or_add_tcPr(), HEADER_FILL)
            cell.width = Cm(widths_cm[c])
        trpr = table.rows[r]._tr.get_or_add_trPr()
        trpr.append(OxmlElement("w:cantSplit"))  # a row is never broken across pages
        if is_header:
            trpr.append(OxmlElement("w:tblHeader"))
    document.add_paragraph().paragraph_format.space_after = Pt(2)
    return table


def _widths(n_cols: int, first: tuple[float, ...] = (4.2,)) -> list[float]:
    """Column widths: the given leading columns, the rest sharing what is left of the text width."""
    first = first[:n_cols - 1] if n_cols > 1 else ()
    rest = (TEXT_WIDTH_CM - sum(first)) / (n_cols - len(first))
    return [*first, *[rest] * (n_cols - len(first))]


# relative widths of the hits tables' columns by header (others: 1.3 for a %, else 1.7), scaled to the text width
COLUMN_WEIGHTS = {"名称": 3.0, "关系": 1.8, "单元编码": 3.0, "单元名称": 4.0, "管控类别": 2.6, "廊道关系": 1.8, "穿越处数": 1.1,
                  "重叠面积 m²（椭球）": 2.1, "重叠投影面积 m²": 2.1, "廊道重叠 m²": 2.1, "线路在其内长度 m": 1.8, "距离 m": 1.6}


def _weighted(header: list[str]) -> list[float]:
    weights = [COLUMN_WEIGHTS.get(h, 1.3 if h.endswith("%") else 1.7) for h in header]
    return [TEXT_WIDTH_CM * w / sum(weights) for w in weights]


def _keep_with_next(paragraph):
    paragraph.paragraph_format.keep_with_next = True
    return paragraph


def _level_css(vocab, label: str) -> str:
    return next((s["css"] for s in vocab.statuses["verdict"].values() if s["label"] == label), "none")


def _level_color(vocab, label: str) -> str | None:
    return LEVEL_COLORS.get(_level_css(vocab, label))


def _is_zoning(layer: dict, vocab) -> bool:
    kind = vocab.kinds.get(layer["kind"])
    return bool(layer.get("zoning") or getattr(kind, "zoning", False))


# ---------------------------------------------------------------- one site

def _site_table(document, s: dict) -> None:
    rows = [["几何类型", vocabulary.geometry_type_zh(s["geometry_type"], s["vertex_count"])]]
    stype = s.get("site_type")
    if stype == "line":
        rows.append(["线路长度", f"{_n(s.get('length_m'), '%.1f')} m（CGCS2000 椭球面上的测地线长度）"])
        cor = s.get("corridor")
        if cor:
            rows.append(["线路廊道", f"宽 {cor['width_m']:g} m（线路两侧各 {cor['half_width_m']:g} m）；椭球面积 {_n(cor['area_m2'])} m² ＝ "
                                  f"{_n(cor['area_ha'], '%.4f')} 公顷；投影面积 {_n(cor['plane_area_m2'])} m² ＝ {_n(cor['plane_area_ha'], '%.4f')} 公顷"
                                  f"（3° 带第 {s['plane_zone']} 带平面，EPSG:{s['plane_epsg']}）"])
    elif stype == "point":
        rows.append(["面积", "点位无面积：结论为“位于…内”或到要素边界的距离"])
    else:
        rows.append(["椭球面积", f"{_n(s.get('area_m2'))} m² ＝ {_n(s.get('area_ha'), '%.4f')} 公顷 ＝ {_n(s.get('area_mu'))} 亩"
                              "（CGCS2000 椭球面积；重叠面积与占比按此口径）"])
        rows.append(["投影面积", f"{_n(s.get('plane_area_m2'))} m² ＝ {_n(s.get('plane_area_ha'), '%.4f')} 公顷 ＝ {_n(s.get('plane_area_mu'))} 亩"
                              f"（高斯-克吕格 3° 带第 {s['plane_zone']} 带平面面积，EPSG:{s['plane_epsg']}；勘测定界报告、界址点文件标注的面积"
                              "是这种平面面积，核对请看此项）"])
    check = s.get("stated_area_check")
    if check:
        unit = ""
        if check.get("unit_detected"):
            unit = f"（单位应为{ {'m2': '平方米', 'mu': '亩'}.get(check['unit_detected'], check['unit_detected'])}，不是公顷）"
        rows.append(["文件标注面积", f"{'一致' if check['passed'] else '不一致'}{unit}：{_text(report_model.zh_text(check['note']))}"])
    elif "stated_area_ha" in s:
        rows.append(["文件标注面积", f"{s['stated_area_ha']} 公顷；计算值与标注值相差 {s.get('stated_vs_computed_pct')}%"])
    c, gk = s["centroid"], s["centroid_gk3"]
    rows.append(["中心点", f"经度 {c['lon']}°，纬度 {c['lat']}°（CGCS2000）；3° 带第 {gk['zone']} 带 X(北) {gk['x_north_m']} m，"
                        f"Y(东) {gk['y_east_m']} m"])
    crs = s.get("crs") or {}
    rows.append(["坐标系", [f"读取：{label_zh(_text(crs.get('as_read')))}" + (f"；判定为：{label_zh(_text(crs['assumed']))}" if crs.get("assumed") else ""),
                         *[label_zh(_text(x)) for x in crs.get("conversions", [])]]])
    districts = "、".join(f"{_text(d['name'])}（{d['adcode']}）" for d in s.get("districts", [])) or "不在已载入的区县内"
    rows.append(["所在区县", districts])
    if s.get("notes"):
        rows.append(["输入处理", [_text(report_model.zh_text(x)) for x in s["notes"]]])
    _table(document, None, rows, widths_cm=[3.2, 13.8], size=9.5, header_column=True)


def _notices(document, r: dict, index: int, vocab) -> None:
    """What the page says above the verdict: coverage gaps, a coordinate-source warning, skipped input."""
    gaps = [layer for layer in r["layers"] if layer.get("coverage") and not layer["coverage"]["complete"]]
    if gaps:
        _para(document, "部分图层无法判定：检索范围内有本系统未加载数据的区域", bold=True, fill=NOTICE_FILL)
        notes: dict[str, list[str]] = {}
        for layer in gaps:
            notes.setdefault(layer["coverage"]["note_zh"], []).append(layer["name_zh"])
        for note, names in sorted(notes.items()):
            _para(document, f"{'、'.join(names)}：{note}。该区域内有无此类要素，本系统无法回答，请向该区域的主管部门核实。",
                  style="List Bullet", fill=NOTICE_FILL)
    cc = r.get("coordinate_check")
    if cc and cc.get("differs"):
        _para(document, "请确认坐标来源：按不同坐标系解读，结论不同", bold=True, fill=NOTICE_FILL)
        _table(document, ["按此坐标系解读", "结论", "位置相差", "涉及要素"],
               [[sys["label"], sys["level"], f"{sys['shift_m']:.0f} m", "、".join(sys.get("involved") or []) or "—"] for sys in cc["systems"]],
               widths_cm=[5.5, 2.5, 2.5, 6.5], numeric={2})
        _para(document, cc.get("note_zh", ""), fill=NOTICE_FILL)
    elif cc:
        _para(document, cc.get("note_zh", ""), size=9, color="555555")
    skipped = r.get("input_skipped") or []
    if skipped:
        if index == 1:
            _para(document, "以下部分未参与初筛：", bold=True, color="AA0000")
            for part in skipped:
                _para(document, part, style="List Bullet", color="AA0000")
        else:
            _para(document, f"本文件另有 {len(skipped)} 个部分未参与初筛（见第 1 个项目）。", color="AA0000")


def _layer_total(document, layer: dict, st: str, s: dict) -> None:
    cor = s.get("corridor")
    if st == "polygon" and layer.get("total_overlap_m2"):
        text = (f"重叠面积合计（同类要素融合后）：椭球面积 {_n(layer['total_overlap_m2'])} m²（{_n(layer.get('total_overlap_ha'), '%.4f')} 公顷，"
                f"占项目 {_n(layer.get('total_overlap_pct_of_site'), '%.1f')}%）；投影面积 {_n(layer.get('total_overlap_plane_m2'))} m²"
                f"（3° 带第 {s['plane_zone']} 带平面）")
    elif st == "line" and (layer.get("total_length_inside_m") or layer.get("total_corridor_overlap_m2")):
        text = (f"线路在其内长度合计（同类要素融合后）：{_n(layer.get('total_length_inside_m'), '%.1f')} m（占线路 "
                f"{_n(layer.get('total_length_pct_of_line'), '%.1f')}%），穿越 {layer.get('total_crossings')} 处")
        if cor:
            text += (f"；廊道重叠：椭球面积 {_n(layer.get('total_corridor_overlap_m2'))} m²（{_n(layer.get('total_corridor_overlap_ha'), '%.4f')} 公顷，"
                     f"占廊道 {_n(layer.get('total_corridor_overlap_pct'), '%.1f')}%），投影面积 {_n(layer.get('total_corridor_overlap_plane_m2'))} m²")
    else:
        return
    _keep_with_next(_para(document, text))


def hit_table_rows(layer: dict, s: dict, vocab) -> tuple[list[str], list[list[str]], set[int]]:
    """(header, rows, numeric columns) of a layer's hits table: the columns of the site type, as on the result page."""
    st = layer.get("site_type") or s.get("site_type")
    cor = s.get("corridor")
    group_by = layer.get("group_by")
    kind = vocab.kinds.get(layer["kind"])
    columns = [("名称", False), ("关系", False)]  # (header, numeric)
    if st == "polygon":
        columns += [("重叠面积 m²（椭球）", True), ("重叠投影面积 m²", True), ("占项目 %", True)]
    elif st == "line":
        columns += [("线路在其内长度 m", True), ("占线路 %", True), ("穿越处数", True)]
        if cor:
            columns += [("廊道关系", False), ("廊道重叠 m²", True), ("占廊道 %", True)]
    columns += [("距离 m", True), ("距离分级", False)]
    if group_by:
        columns.append((kind.attribute(group_by).label if kind else group_by, False))
    rows = []
    for h in layer["hits"]:
        row = [_text(h["name"]), vocab.relations[h["relation"]]["label"]]
        if st == "polygon":
            row += [_n(h.get("overlap_m2")), _n(h.get("overlap_plane_m2")), _n(h.get("overlap_pct_of_site"), "%.3g")]
        elif st == "line":
            row += [_n(h.get("length_inside_m"), "%.1f"), _n(h.get("length_pct_of_line"), "%.1f"),
                    str(h["crossings"]) if h.get("crossings") is not None else "—"]
            if cor:
                rel = h.get("corridor_relation")
                row += [vocab.relations[rel]["label"] if rel else "—", _n(h.get("corridor_overlap_m2")), _n(h.get("corridor_overlap_pct"), "%.1f")]
        row += [_n(h.get("distance_m"), "%.1f"), _text(h.get("distance_band"))]
        if group_by:
            row.append(_text((h.get("attributes") or {}).get(group_by)))
        rows.append(row)
    return [c for c, _ in columns], rows, {i for i, (_, num) in enumerate(columns) if num}


def zoning_table_rows(units: list[dict], st: str, vocab) -> tuple[list[str], list[list[str]], set[int]]:
    """(header, rows, numeric columns) of the units a site lies in: code, name, 管控类别, relation and the site's share in each
    (a polygon's overlap area, a line's length inside; a point has neither)."""
    header = ["单元编码", "单元名称", "管控类别", "关系"]
    if st == "line":
        header += ["线路在其内长度 m", "占线路 %"]
    elif st != "point":
        header += ["重叠面积 m²（椭球）", "占项目 %"]
    rows = []
    for h in units:
        attrs = h.get("attributes") or {}
        row = [_text(attrs.get("unit_code")), _text(h["name"]), _text(attrs.get("unit_class")), vocab.relations[h["relation"]]["label"]]
        if st == "line":
            row += [_n(h.get("length_inside_m"), "%.1f"), _n(h.get("length_pct_of_line"), "%.1f")]
        elif st != "point":
            row += [_n(h.get("overlap_m2")), _n(h.get("overlap_pct_of_site"), "%.1f")]
        rows.append(row)
    return header, rows, set(range(4, len(header)))


def _admission_list(document, hit: dict) -> None:
    """A unit's 准入清单: one block per dimension (空间布局约束 …), each requirement with its level (市级总体/区县总体/单元)."""
    attrs = hit.get("attributes") or {}
    code, cls = _text(attrs.get("unit_code")), _text(attrs.get("unit_class"))
    heading = document.add_heading(level=3)
    heading.add_run(_text(f"{code} {hit['name']}" + (f"（{cls}）" if cls else "") + " 生态环境准入清单"))
    if hit.get("is_demo"):
        heading.add_run("（示意，非正式清单）").font.size = Pt(9)
    for dimension in hit["admission_list"]:
        _keep_with_next(_para(document, dimension.get("label") or dimension.get("dimension"), bold=True))
        requirements = dimension.get("requirements") or []
        if not requirements:
            _para(document, "清单未列此维度的要求", color="666666")
        for req in requirements:
            p = document.add_paragraph(style="List Bullet")
            if req.get("level"):
                _run(p, f"【{req['level']}】", bold=True)
            _run(p, req.get("text"))


def _rules(document, layer: dict) -> None:
    if not layer.get("control_rules"):
        return
    _keep_with_next(_para(document, "规划管控要求", bold=True))
    for rule in layer["control_rules"]:
        p = _para(document, fill="FFFAF0")
        _run(p, f"“{rule['text']}”", size=9.5)
        _run(p, f"——《{rule['plan']}》第 {rule['line']} 行", size=9, color="555555")


def _coverage_gap(document, layer: dict) -> None:
    if layer.get("coverage") and not layer["coverage"]["complete"]:
        _para(document, f"检索范围不完整：{layer['coverage']['note_zh']}。", color="5C3D00")


def _unknown(document, layer: dict, vocab) -> None:
    unk = vocab.statuses["verdict"]["unknown"]
    p = _para(document)
    _run(p, unk["label"], bold=True, color=LEVEL_COLORS.get(unk.get("css", "unknown"), LEVEL_COLORS["unknown"]))
    _run(p, f"：{layer['coverage']['note_zh']}。", color="5C3D00")


def _layer(document, r: dict, layer: dict, vocab) -> None:
    s = r["site"]
    document.add_heading(level=2).add_run(_text(f"{layer['name_zh']}（{layer['status']}）"))
    st = layer.get("site_type") or s.get("site_type")
    incomplete = bool(layer.get("coverage")) and not layer["coverage"]["complete"]
    if _is_zoning(layer, vocab):
        units = [h for h in layer["hits"] if h["relation"] in ZONING_IN]
        touching = [h for h in layer["hits"] if h["relation"] == "contact"]
        if units:
            header, rows, numeric = zoning_table_rows(units, st, vocab)
            _table(document, header, rows, numeric=numeric, widths_cm=_weighted(header))
        elif incomplete:
            _unknown(document, layer, vocab)
        else:
            unk = vocab.statuses["verdict"]["unknown"]
            p = _para(document)
            _run(p, unk["label"], bold=True, color=LEVEL_COLORS.get(unk.get("css", "unknown"), LEVEL_COLORS["unknown"]))
            _run(p, f"：项目所在位置未落入任何已加载的{layer['name_zh']}（单元数据在此处有缺口），请向主管部门核实。", color="5C3D00")
        if touching:
            names = "、".join(_text(f"{(h.get('attributes') or {}).get('unit_code') or ''} {h['name']}".strip()) for h in touching)
            _para(document, f"与以下{layer['name_zh']}仅边界接触（重叠小于精度，不计为位于其内）：{names}", color="555555")
        for h in units:
            if h.get("admission_list"):
                _admission_list(document, h)
        _rules(document, layer)
        if units:
            _coverage_gap(document, layer)
        return
    if layer["hits"]:
        _layer_total(document, layer, st, s)
        header, rows, numeric = hit_table_rows(layer, s, vocab)
        _table(document, header, rows, numeric=numeric, widths_cm=_weighted(header),
               size=9 if len(header) <= 7 else 8 if len(header) <= 9 else 7.5)
        _rules(document, layer)
        _coverage_gap(document, layer)
    elif incomplete:
        _unknown(document, layer, vocab)
    else:
        _para(document, f"{r['method']['distance_bands_m'][-1] / 1000:g} km 范围内无{layer['name_zh']}。")


def _site(document, r: dict, site: dict, vocab, figure: bytes | None = None) -> None:
    s = r["site"]
    index = site["index"]
    heading = document.add_heading(level=1)
    heading.add_run(_text(f"{site['name']}："))
    level = r["verdict"]["level"]
    run = heading.add_run(_text(level))
    color = _level_color(vocab, level)
    if color:
        run.font.color.rgb = RGBColor.from_string(color)
    _notices(document, r, index, vocab)
    _conclusions(document, site, vocab)
    if figure:
        document.add_picture(io.BytesIO(figure), width=Cm(TEXT_WIDTH_CM))
        document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    document.add_heading("初筛意见", level=2)
    for line in r["verdict"]["lines"]:
        _para(document, line, style="List Bullet")
    _site_table(document, s)
    for layer in r["layers"]:
        _layer(document, r, layer, vocab)
    _coordinates(document, site)
    _inside_parts(document, site)


def _method(document, method: dict, vocab) -> None:
    document.add_heading("附：方法与数据说明", level=1)
    items = [f"面积：{method['area']}"]
    if method.get("plane_area"):
        items.append(f"{method['plane_area']}。页面中“椭球面积”“重叠面积”与占比按椭球面积，“投影面积”为高斯-克吕格平面面积；"
                     "两者之差为投影变形（带内不超过约 0.1%）。")
    if method.get("length"):
        items.append(f"{method['length']}；穿越处数为线路位于同类要素融合范围内的连续段数")
    for key in ("corridor", "precision"):
        if method.get(key):
            items.append(method[key])
    items.append(f"距离：{method['distance']}；距离分级 {' / '.join(f'{b:g}' for b in method['distance_bands_m'])} m")
    items.append(f"重叠：{method['overlap']}")
    layers = "，".join(f"{vocab.kinds[k].name_zh if k in vocab.kinds else k}：{v}" for k, v in method["data"]["layers"].items())
    items.append(f"数据版本：{method['data']['version']}；{layers}")
    items.append(f"检查时间：{method['checked_at']}")
    for item in items:
        _para(document, item, style="List Bullet", size=9.5)
    p = _para(document)
    _run(p, "注意：", bold=True, color="990000")
    _run(p, method["caveat"], color="990000")


# ---------------------------------------------------------------- the report

def _cover(document, model: dict, method: dict) -> None:
    """Title and the cover block: the project information given, the data status, the date."""
    document.add_paragraph(model["title"], style="Title")
    rows = [list(row) for row in model["project"]]
    rows.append(["数据状态", f"{model['data_status']}" + ("（含按规划公布数字校准的示意图层，不能作为审查依据）" if model["demo"] else "")])
    rows.append(["生成日期", report_model.date_zh(method["checked_at"])])
    _table(document, None, rows, widths_cm=[3.6, 13.4], header_column=True, size=10)


def _conclusions(document, site: dict, vocab) -> None:
    document.add_heading("初筛结论", level=2)
    for line in site["zoning"]:
        _para(document, line, size=10)
    rows = [[c["layer"], c["level"], c["figures"]] for c in site["conclusions"]]
    table = _table(document, ["图层", "结论", "依据"], rows, widths_cm=[3.4, 2.0, 11.6], size=9.5)
    for row, c in zip(table.rows[1:], site["conclusions"]):
        color = LEVEL_COLORS.get(vocab.statuses["verdict"][c["level_key"]].get("css", ""))
        for run in row.cells[1].paragraphs[0].runs:
            run.bold = True
            if color:
                run.font.color.rgb = RGBColor.from_string(color)


def _coordinates(document, site: dict) -> None:
    table = site["coordinates"]
    if table is None:  # a result without its geometry (never one the service stored)
        return
    document.add_heading("界址点坐标成果表", level=2)
    _para(document, report_model.plane_note(site), size=9, color="555555")
    header = ["地块", "圈", "点号", "X（北坐标）m", "Y（东坐标）m"]
    rows = [[str(b["parcel"]), b["ring_label"], r["point"], f"{r['x_m']:.3f}", f"{r['y_m']:.3f}"]
            for b in table["blocks"] for r in b["rows"]]
    _table(document, header, rows, widths_cm=[1.4, 3.2, 1.8, 5.3, 5.3], numeric={3, 4}, size=9)
    if table["n_shown"] < table["n_points"]:
        _para(document, f"共 {table['n_points']} 个界址点，本表列出前 {table['n_shown']} 个；全部坐标见 Shapefile 与 DXF 导出。", size=9, color="555555")


def _inside_parts(document, site: dict) -> None:
    document.add_heading("位于生态保护红线、饮用水水源保护区、自然保护地内的部分", level=2)
    parts = site["inside_parts"]
    if not parts:
        _para(document, report_model.NO_INSIDE_PARTS)
        return
    for part in parts:
        p = _para(document)
        _run(p, f"{part['layer']} {part['feature']}", bold=True)
        _run(p, "：" + report_model.part_text(part))
        rows = [[r["point"], f"{r['x_m']:.3f}", f"{r['y_m']:.3f}"] for r in part["corners"]]
        _table(document, ["拐点", "X（北坐标）m", "Y（东坐标）m"], rows, widths_cm=[2.0, 5.0, 5.0], numeric={1, 2}, size=8.5)
        if len(part["corners"]) < part["n_corners"] + 1:
            _para(document, f"该部分共 {part['n_corners']} 个拐点，本表列出前 {len(part['corners'])} 个；完整边界见重叠部分 Shapefile/DXF。",
                  size=9, color="555555")


def _signature(document, model: dict) -> None:
    document.add_heading("审查意见与签字", level=1)
    _para(document, "审查意见：", bold=True)
    for _ in range(3):
        _para(document, "")
    table = _table(document, None, [[label, ""] for label in model["signature"]], widths_cm=[3.6, 13.4], header_column=True, size=10.5)
    for n, row in enumerate(table.rows):
        row.height = Cm(1.2)
        if n < len(table.rows) - 1:  # the signature rows stay on one page
            for cell in row.cells:
                cell.paragraphs[0].paragraph_format.keep_with_next = True


def screening_docx(results: list[dict], public_results: list[dict], vocab, summary: dict | None = None,
                   indices: list[int] | None = None, figures: list[bytes] | None = None) -> bytes:
    """The editable 审查意见 of a screening: cover with the project information, then per site the conclusion per
    layer kind, the map figure (figures: PNG per site), the detailed tables, the 界址点坐标成果表 and the parts inside
    protected zones; the method as an appendix; the signature block. results: the stored results (with geometries);
    public_results: their JSON view; summary, indices: as for the PDF (services.exports.report_selection)."""
    document = _new_document()
    model = report_model.build(results, vocab, indices)
    first = public_results[0]
    _cover(document, model, first["method"])
    _para(document, "本意见可编辑，内容与 PDF 报告相同。面积均注明口径：椭球面积（CGCS2000 椭球面上计算）或投影面积（高斯-克吕格 3° 带平面）。",
          size=9, color="555555")
    if summary:
        document.add_heading("初筛汇总", level=1)
        _para(document, summary["note"])
        _table(document, [label for label, _ in summary["counts"]], [[str(n) for _, n in summary["counts"]]])
        _table(document, ["序号", "名称", "结论", "初筛意见（摘要）"],
               [[str(row["index"]), row["name"], row["level"], row["summary"]] for row in summary["rows"]], widths_cm=[1.2, 3.5, 1.8, 10.5])
        if summary["rows_omitted"]:
            _para(document, f"另有 {summary['rows_omitted']} 个地块未列入本表，见 Excel 汇总表。", size=9, color="555555")
    for n, (site, r) in enumerate(zip(model["sites"], public_results)):
        _site(document, r, site, vocab, figures[n] if figures else None)
    _method(document, first["method"], vocab)
    document.add_heading("说明与免责", level=1)
    _para(document, CAVEAT, color="990000")
    _signature(document, model)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
