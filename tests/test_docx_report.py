"""The Word (.docx) screening report: exported through the result page and the API, opened with python-docx and
checked against the JSON export of the same result — verdict lines, site figures, hits tables, the none-found and
无法判定 variants, a zoning layer's units and 准入清单 (a hand-made result), and data text kept literal."""
import copy
import io
import json
import re
import zipfile

import docx
import pytest
from docx.table import Table
from docx.text.paragraph import Paragraph

from conftest import ROOT, csrf_token
from geo.crs import label_zh
from render.docx_report import TITLE, screening_docx

DATA = ROOT / "tests" / "data"
JZD = DATA / "site_dazu_jzd.txt"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XSS = "<script>alert(1)</script>"


def n(x, f="%.2f"):
    """A figure as the report prints it (the templates' n() macro)."""
    return f % x if x is not None else "—"


def blocks(document) -> list:
    """The body in order: ("p", style name, text) for paragraphs, ("t", rows of cell texts) for tables."""
    out = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            out.append(("p", item.style.name, item.text))
        elif isinstance(item, Table):
            out.append(("t", [[cell.text for cell in row.cells] for row in item.rows]))
    return out


def section(doc_blocks, heading: str) -> list:
    """The blocks after a heading up to the next heading of the same or a higher level."""
    start = next(i for i, b in enumerate(doc_blocks) if b[0] == "p" and b[1].startswith("Heading") and b[2] == heading)
    level = doc_blocks[start][1]
    end = next((i for i in range(start + 1, len(doc_blocks)) if doc_blocks[i][0] == "p" and doc_blocks[i][1].startswith("Heading")
                and doc_blocks[i][1] <= level), len(doc_blocks))
    return doc_blocks[start + 1:end]


def tables(doc_blocks) -> list:
    return [b[1] for b in doc_blocks if b[0] == "t"]


def texts(doc_blocks) -> list[str]:
    return [b[2] for b in doc_blocks if b[0] == "p"]


def open_docx(data: bytes):
    assert data[:2] == b"PK"
    return docx.Document(io.BytesIO(data))


@pytest.fixture(scope="module")
def via_api(app):
    """One real screening through /api/screen (default bands: the search radius leaves the loaded districts) and its exports."""
    client = app.test_client()
    with open(JZD, "rb") as fh:
        body = client.post("/api/screen", data={"file": (fh, JZD.name)}).get_json()
    resp = client.get(body["links"]["docx"])
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    exported = client.get(body["links"]["json"]).get_json()
    return resp, exported


@pytest.fixture(scope="module")
def via_page(app):
    """The same site through the screening form (bands 0/100/500 m: the radius stays in 大足区), following the result page's link."""
    client = app.test_client()
    with open(JZD, "rb") as fh:
        resp = client.post("/screen", data={"file": (fh, JZD.name), "bands": "0,100,500", "csrf_token": csrf_token(client, "/screen")})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:300]
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    link = re.search(r'<a href="([^"]+\.docx)">Word 报告（可编辑）</a>', page)
    assert link, "the result page links the Word report"
    assert re.search(r'PDF 报告</a> ·\s*<a href="[^"]+\.docx">Word 报告', page)  # next to the PDF link
    report = client.get(link.group(1))
    assert report.status_code == 200
    exported = client.get(link.group(1).replace(".docx", ".json")).get_json()
    return report, exported


def test_download_is_a_word_document_named_like_the_pdf(via_api):
    resp, exported = via_api
    assert resp.mimetype == DOCX_MIME
    assert f'filename="screening-{exported["result_id"]}.docx"' in resp.headers["Content-Disposition"]
    names = zipfile.ZipFile(io.BytesIO(resp.data)).namelist()
    assert "word/document.xml" in names
    document = open_docx(resp.data)
    assert document.paragraphs[0].text == TITLE == "建设项目选址生态环境合规初筛意见"
    cover = dict((row[0], row[1]) for row in tables(blocks(document))[0])
    t = exported["method"]["checked_at"]  # 2026-12-03T22:42:27+08:00 → 2026年12月3日 22:42
    assert cover["生成日期"] == f"{int(t[:4])}年{int(t[5:7])}月{int(t[8:10])}日 {t[11:16]}"
    assert cover["数据状态"].startswith("示意数据（含按规划公布数字校准的示意图层")
    appendix = texts(section(blocks(document), "附：方法与数据说明"))
    assert any(exported["method"]["data"]["version"] in line for line in appendix)  # the data version: in the appendix
    assert document.core_properties.title == TITLE


def test_east_asian_font_is_set_for_word_and_libreoffice(via_api):
    resp, _ = via_api
    styles = zipfile.ZipFile(io.BytesIO(resp.data)).read("word/styles.xml").decode()
    defaults = re.search(r"<w:docDefaults>.*?</w:docDefaults>", styles, re.S).group(0)
    assert 'w:eastAsia="Noto Sans CJK SC"' in defaults and "eastAsiaTheme" not in styles  # theme fonts would win over it
    fonts = zipfile.ZipFile(io.BytesIO(resp.data)).read("word/fontTable.xml").decode()
    assert re.search(r'w:name="Noto Sans CJK SC">\s*<w:altName w:val="宋体"/>', fonts)


def test_verdict_lines_and_site_figures_equal_the_json_export(via_api):
    resp, exported = via_api
    b = blocks(open_docx(resp.data))
    site = exported["site"]
    heading = f"{site['name']}：{exported['verdict']['level']}"
    body = section(b, heading)
    opinion = next(i for i, x in enumerate(body) if x[0] == "p" and x[2] == "初筛意见")
    body = body[opinion:]
    first_table = next(i for i, x in enumerate(body) if x[0] == "t")
    bullets = [x[2] for x in body[:first_table] if x[0] == "p" and x[1] == "List Bullet"]
    lines = exported["verdict"]["lines"]
    assert bullets[-len(lines):] == lines  # the verdict lines, in order (after the 无法判定 notice), above the site table
    kv = dict((row[0], row[1]) for row in tables(body)[0])
    assert kv["几何类型"] == f"{ {'Polygon': '面', 'LineString': '线', 'Point': '点'}[site['geometry_type']]}（{site['vertex_count']} 个拐点）"
    assert kv["椭球面积"].startswith(f"{n(site['area_m2'])} m² ＝ {n(site['area_ha'], '%.4f')} 公顷 ＝ {n(site['area_mu'])} 亩（CGCS2000 椭球面积")
    assert kv["投影面积"].startswith(f"{n(site['plane_area_m2'])} m² ＝ {n(site['plane_area_ha'], '%.4f')} 公顷")
    assert f"EPSG:{site['plane_epsg']}" in kv["投影面积"]
    assert f"经度 {site['centroid']['lon']}°，纬度 {site['centroid']['lat']}°" in kv["中心点"]
    assert kv["坐标系"].startswith(f"读取：{label_zh(site['crs']['as_read'])}")  # the registry's name in reviewers' words
    assert kv["所在区县"] == "大足区（500111）"
    assert kv["文件标注面积"].startswith("一致")


def test_hits_tables_equal_the_json_export(via_api):
    resp, exported = via_api
    b = blocks(open_docx(resp.data))
    for layer in exported["layers"]:
        body = section(b, f"{layer['name_zh']}（{layer['status']}）")
        if layer.get("zoning"):  # once the data have 环境管控单元: the units the site lies in, as in the JSON
            units = [h for h in layer["hits"] if h["relation"] in ("within", "intersects")]
            if units:
                assert [row[:3] + row[4:] for row in tables(body)[0][1:]] == [
                    [h["attributes"]["unit_code"], h["name"], h["attributes"]["unit_class"], n(h["overlap_m2"]), n(h["overlap_pct_of_site"], "%.1f")]
                    for h in units]
            for h in (h for h in units if h.get("admission_list")):
                heading = (f"{h['attributes']['unit_code']} {h['name']}（{h['attributes']['unit_class']}） 生态环境准入清单"
                           + ("（示意，非正式清单）" if h["is_demo"] else ""))
                listed = texts(section(b, heading))
                assert [d["label"] for d in h["admission_list"]] == [t for t in listed if not t.startswith("【") and t != "清单未列此维度的要求"]
                assert [f"【{r['level']}】{r['text']}" for d in h["admission_list"] for r in d["requirements"]] == [t for t in listed if t.startswith("【")]
            continue
        if not layer["hits"]:
            continue
        table = tables(body)[0]
        assert table[0][:5] == ["名称", "关系", "重叠面积 m²（椭球）", "重叠投影面积 m²", "占项目 %"]
        assert table[0][5:7] == ["距离 m", "距离分级"]
        assert len(table) == len(layer["hits"]) + 1
        for row, hit in zip(table[1:], layer["hits"]):
            assert row[:7] == [hit["name"], {"intersects": "部分重叠/穿越", "within": "完全位于其内", "contact": "边界接触", "near": "临近"}[hit["relation"]],
                               n(hit["overlap_m2"]), n(hit["overlap_plane_m2"]), n(hit["overlap_pct_of_site"], "%.3g"),
                               n(hit["distance_m"], "%.1f"), hit["distance_band"]]
        if layer["total_overlap_m2"]:
            total = next(t for t in texts(body) if t.startswith("重叠面积合计"))
            assert f"椭球面积 {n(layer['total_overlap_m2'])} m²" in total and f"投影面积 {n(layer['total_overlap_plane_m2'])} m²" in total
        quotes = [t for t in texts(body) if t.startswith("“")]
        assert quotes == [f"“{r['text']}”——《{r['plan']}》第 {r['line']} 行" for r in layer["control_rules"]]
    red = next(layer for layer in exported["layers"] if layer["kind"] == "redline")
    assert red["hits"] and red["control_rules"]  # the site overlaps the red line: the checks above ran
    pa = section(b, "自然保护地（示意数据）")
    assert tables(pa)[0][0][-1] == "类型" and tables(pa)[0][1][-1] == "自然保护区"  # the group_by column


def test_uncovered_layer_says_it_cannot_be_determined(via_api):
    resp, exported = via_api
    b = blocks(open_docx(resp.data))
    water = next(layer for layer in exported["layers"] if layer["kind"] == "water_source_zone")
    assert not water["hits"] and not water["coverage"]["complete"]
    body = section(b, f"{water['name_zh']}（{water['status']}）")
    assert texts(body) == [f"无法判定：{water['coverage']['note_zh']}。"] and not tables(body)
    notice = next(i for i, t in enumerate(texts(b)) if t == "部分图层无法判定：检索范围内有本系统未加载数据的区域")
    assert water["coverage"]["note_zh"] in texts(b)[notice + 1]


def test_none_found_when_the_radius_is_covered(via_page):
    report, exported = via_page
    b = blocks(open_docx(report.data))
    water = next(layer for layer in exported["layers"] if layer["kind"] == "water_source_zone")
    assert not water["hits"] and water["coverage"]["complete"]
    body = section(b, f"{water['name_zh']}（{water['status']}）")
    assert texts(body) == ["0.5 km 范围内无饮用水水源保护区。"]
    assert "不涉及饮用水水源保护区；0.5 km 范围内无饮用水水源保护区" in texts(b)
    assert "部分图层无法判定：检索范围内有本系统未加载数据的区域" not in texts(b)


def test_method_block_and_caveat(via_api):
    resp, exported = via_api
    b = blocks(open_docx(resp.data))
    method = texts(section(b, "附：方法与数据说明"))
    m = exported["method"]
    assert f"面积：{m['area']}" in method and f"重叠：{m['overlap']}" in method and f"检查时间：{m['checked_at']}" in method
    assert f"距离：{m['distance']}；距离分级 0 / 100 / 500 / 1000 / 5000 m" in method
    assert f"注意：{m['caveat']}" in method
    assert texts(section(b, "说明与免责"))[0].startswith("初筛结果，以主管部门审定的矢量数据为准。")


def test_data_text_is_literal_in_the_document(app):
    client = app.test_client()
    site = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": f"{XSS} & 项目"},
            "geometry": {"type": "Polygon", "coordinates": [[[105.600, 29.744], [105.602, 29.744], [105.602, 29.746], [105.600, 29.746], [105.600, 29.744]]]}}]}
    body = client.post("/api/screen", data={"file": (io.BytesIO(json.dumps(site).encode()), "site.geojson")}).get_json()
    data = client.get(body["links"]["docx"]).data
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; 项目" in xml and "<script>" not in xml
    assert any(p.text.startswith(f"{XSS} & 项目：") for p in open_docx(data).paragraphs)


# ---------------------------------------------------------------- a zoning layer (hand-made: the demo data may have no units)

def _unit(code, name, cls, relation, overlap_m2, pct, admission=None):
    hit = {"id": f"500111-control_unit-{code}", "name": name, "relation": relation, "overlap_m2": overlap_m2, "overlap_ha": overlap_m2 / 1e4,
           "overlap_plane_m2": overlap_m2, "overlap_pct_of_site": pct, "length_inside_m": None, "length_pct_of_line": None, "crossings": None,
           "corridor_relation": None, "corridor_overlap_m2": None, "corridor_overlap_ha": None, "corridor_overlap_pct": None,
           "distance_m": 0.0, "distance_band": "相交或接触", "attributes": {"unit_code": code, "unit_class": cls, "adcode": "500111"}, "is_demo": False}
    if admission is not None:
        hit["admission_list"] = admission
    return hit


ADMISSION = [
    {"dimension": "spatial_layout", "label": "空间布局约束", "requirements": [
        {"level": "市级总体", "text": "禁止在长江干支流岸线一公里范围内新建、扩建化工园区和化工项目。"},
        {"level": "区县总体", "text": "严格控制新增工业用地。"},
        {"level": "单元", "text": XSS}]},
    {"dimension": "pollutant_discharge", "label": "污染物排放管控", "requirements": [
        {"level": "单元", "text": "新建项目废水须纳管处理，达标排放。"}]},
    {"dimension": "risk_prevention", "label": "环境风险防控", "requirements": []},
]


def zoning_results(exported: dict, hits: list, complete: bool = True) -> list[dict]:
    result = copy.deepcopy({k: v for k, v in exported.items() if k not in ("result_id", "links", "skipped")})
    layer = {"kind": "control_unit", "name_zh": "环境管控单元", "zoning": True, "is_demo": False, "site_type": "polygon", "hits": hits,
             "group_by": "unit_class", "groups": {}, "max_band_m": 5000.0, "status": "正式数据", "control_rules": [],
             "coverage": {"complete": True} if complete else {"complete": False, "note_zh": "项目有 0.20 km² 位于本系统未加载数据的区域（大足区以外）"}}
    result["layers"] = result["layers"] + [layer]
    return [result]


def test_zoning_layer_lists_units_and_admission_lists_by_dimension(app, via_api):
    _, exported = via_api
    vocab = app.extensions["services"].vocab
    hits = [_unit("ZH50011120001", "大足区西山优先保护单元", "优先保护单元", "intersects", 200000.0, 57.23, ADMISSION),
            _unit("ZH50011120002", "大足区城区重点管控单元", "重点管控单元", "intersects", 149470.92, 42.77),
            _unit("ZH50011130001", "大足区一般管控单元", "一般管控单元", "contact", 0.4, 0.0001, ADMISSION)]
    data = screening_docx(zoning_results(exported, hits), zoning_results(exported, hits), vocab)
    b = blocks(open_docx(data))
    body = section(b, "环境管控单元（正式数据）")
    units = tables(body)[0]
    assert units == [["单元编码", "单元名称", "管控类别", "关系", "重叠面积 m²（椭球）", "占项目 %"],
                     ["ZH50011120001", "大足区西山优先保护单元", "优先保护单元", "部分重叠/穿越", "200000.00", "57.2"],
                     ["ZH50011120002", "大足区城区重点管控单元", "重点管控单元", "部分重叠/穿越", "149470.92", "42.8"]]
    lines = texts(body)
    assert any(t.startswith("与以下环境管控单元仅边界接触") and "ZH50011130001" in t for t in lines)
    # only the first unit carries an admission list (the third touches only): one list, grouped by dimension with levels
    admission = section(b, "ZH50011120001 大足区西山优先保护单元（优先保护单元） 生态环境准入清单")
    assert [x[2] for x in admission if x[0] == "p"] == [
        "空间布局约束", "【市级总体】禁止在长江干支流岸线一公里范围内新建、扩建化工园区和化工项目。", "【区县总体】严格控制新增工业用地。", f"【单元】{XSS}",
        "污染物排放管控", "【单元】新建项目废水须纳管处理，达标排放。",
        "环境风险防控", "清单未列此维度的要求"]
    assert not any("准入清单" in t and "ZH50011120002" in t for t in texts(b))  # no admission_list: nothing built
    assert not any("准入清单" in t and "ZH50011130001" in t for t in texts(b))
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in xml and "<script>" not in xml


def test_zoning_layer_none_found_and_uncovered(app, via_api):
    _, exported = via_api
    vocab = app.extensions["services"].vocab
    none = blocks(open_docx(screening_docx(zoning_results(exported, []), zoning_results(exported, []), vocab)))
    assert texts(section(none, "环境管控单元（正式数据）")) == ["无法判定：项目所在位置未落入任何已加载的环境管控单元（单元数据在此处有缺口），请向主管部门核实。"]
    gap = zoning_results(exported, [], complete=False)
    uncovered = blocks(open_docx(screening_docx(gap, gap, vocab)))
    assert texts(section(uncovered, "环境管控单元（正式数据）")) == ["无法判定：项目有 0.20 km² 位于本系统未加载数据的区域（大足区以外）。"]


def test_control_characters_in_data_do_not_break_the_document(app, via_api):
    _, exported = via_api
    hits = [_unit("ZH\x0150011120001", "单元\x00名称", "优先保护单元", "within", 349470.92, 100.0,
                  [{"dimension": "spatial_layout", "label": "空间布局约束", "requirements": [{"level": "单元", "text": "第一行\x0b要求"}]}])]
    data = screening_docx(zoning_results(exported, hits), zoning_results(exported, hits), app.extensions["services"].vocab)
    b = blocks(open_docx(data))
    assert tables(section(b, "环境管控单元（正式数据）"))[0][1][:2] == ["ZH50011120001", "单元名称"]
    assert "【单元】第一行要求" in texts(b)
