"""The 审查意见 a reviewer hands in: project information through the form, the API and the OGC process into every
output; the Word and PDF reports' cover, conclusion per layer, 界址点坐标成果表 (checked against the input TXT's own
coordinates), the parts inside protected zones (areas against an independent pyproj computation), plan rules with
their lines, the 示意 flag, the map figure, the signature block; hostile project text kept literal."""
import io
import json
import re
import subprocess
import zipfile

import docx
import numpy as np
import pyogrio
import pytest
import shapely
import yaml
from pyproj import Geod, Transformer

from conftest import ROOT, csrf_token
from test_docx_report import blocks, section

JZD = ROOT / "tests" / "data" / "site_dazu_jzd.txt"
XSS = "<script>alert(1)</script>"
PROJECT = {"name": f"大足区某物流园{XSS}", "builder": "重庆某某建设有限公司", "industry": "交通运输/物流仓储", "code": "2026-500111-54-01-000123",
           "reviewer": "张三", "review_date": "2026-12-01"}
LABELS = {"name": "项目名称", "builder": "建设单位", "industry": "项目类型/行业", "code": "项目编号", "reviewer": "审查人", "review_date": "审查日期"}
GEOD = Geod(ellps="GRS80")


def txt_points() -> list[tuple[str, float, float]]:
    """(点号, X, Y) of the TXT as written (GBK; lines 点号,圈号,X,Y after the header)."""
    rows = []
    for line in JZD.read_bytes().decode("gbk").splitlines():
        parts = line.strip().split(",")
        if len(parts) == 4 and parts[0].startswith("J"):
            rows.append((parts[0], float(parts[2]), float(parts[3])))
    assert len(rows) >= 4
    return rows


def pdf_text(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


def doc_blocks(data: bytes) -> list:
    return blocks(docx.Document(io.BytesIO(data)))


def after_heading(doc, heading: str) -> list:
    return section(doc, heading)


@pytest.fixture(scope="module")
def screened(app):
    """The TXT screened through the API with the project information (multipart fields project_*), its exports."""
    client = app.test_client()
    fields = {f"project_{k}": v for k, v in PROJECT.items()}
    with open(JZD, "rb") as fh:
        resp = client.post("/api/screen", data={"file": (fh, JZD.name), "bands": "0,100,500", **fields})
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    body = resp.get_json()
    docx_data = client.get(body["links"]["docx"]).data
    pdf_data = client.get(body["links"]["pdf"]).data
    return body, docx_data, pdf_data


def test_project_information_is_kept_in_the_result(screened):
    body, _, _ = screened
    assert body["project"] == PROJECT


def test_word_cover_lists_the_project_information_and_the_demo_flag(screened):
    _, data, _ = screened
    blocks = doc_blocks(data)
    assert blocks[0][2] == "建设项目选址生态环境合规初筛意见"
    cover = dict(next(b[1] for b in blocks if b[0] == "t"))
    for key, value in PROJECT.items():
        assert cover[LABELS[key]] == value  # the XSS text as text, unaltered
    assert cover["数据状态"].startswith("示意数据")
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in xml and "<script>" not in xml


def test_pdf_carries_the_project_information_and_the_demo_flag(screened):
    _, _, data = screened
    text = pdf_text(data)
    assert "建设项目选址生态环境合规初筛意见" in text
    for value in PROJECT.values():
        assert value in text
    assert "示意数据" in text and "审查人" in text and "复核人" in text


def test_coordinate_table_equals_the_txt_coordinates(screened):
    """Every row of the 界址点坐标成果表 is a point of the input TXT to the millimetre, every TXT point is in it, and the
    ring closes on its first point."""
    _, data, pdf = screened
    table = next(b[1] for b in after_heading(doc_blocks(data), "界址点坐标成果表") if b[0] == "t")
    assert table[0] == ["地块", "圈", "点号", "X（北坐标）m", "Y（东坐标）m"]
    rows = [(float(r[3]), float(r[4])) for r in table[1:]]
    expected = {(x, y) for _, x, y in txt_points()}
    assert {(round(x, 3), round(y, 3)) for x, y in rows} == expected
    assert rows[0] == rows[-1] and len(rows) == len(expected) + 1
    notes = [b[2] for b in after_heading(doc_blocks(data), "界址点坐标成果表") if b[0] == "p"]
    assert any("第 35 带" in n and "EPSG:4523" in n and "X 为北坐标" in n for n in notes)
    text = pdf_text(pdf)
    for x, y in expected:  # the PDF's table has the same figures
        assert f"{x:.3f}" in text and f"{y:.3f}" in text


def _independent_overlap_m2(feature_name: str, layer: str) -> float:
    """Site (the TXT's ring, EPSG:4523 → CGCS2000 by pyproj) ∩ the demo feature, on GRS80."""
    to_ll = Transformer.from_crs(4523, 4490, always_xy=True)
    pts = txt_points()
    lon, lat = to_ll.transform([y for _, _, y in pts], [x for _, x, _ in pts])
    site = shapely.Polygon(np.column_stack([lon, lat]))
    frame = pyogrio.read_dataframe(ROOT / "data" / "demo.gpkg", layer=layer)
    feature = shapely.union_all(frame[frame["name"] == feature_name].geometry.values)
    piece = shapely.orient_polygons(site.intersection(feature))
    return abs(GEOD.geometry_area_perimeter(piece)[0])


def test_inside_parts_areas_equal_an_independent_computation(screened):
    body, data, _ = screened
    inside = after_heading(doc_blocks(data), "位于生态保护红线、饮用水水源保护区、自然保护地内的部分")
    stated = [b[2] for b in inside if b[0] == "p" and "椭球面积" in b[2]]
    hits = [(layer, h) for layer in body["layers"] if not layer.get("zoning") for h in layer["hits"]
            if h["relation"] in ("within", "intersects")]
    assert len(hits) >= 2 and len(stated) == len(hits)  # the red line and the nature reserve
    for (layer, hit), text in zip(hits, stated):
        assert text.startswith(f"{layer['name_zh']} {hit['name']}：第 1 块（共 1 块）")
        figure = float(re.search(r"椭球面积 ([\d.]+) m²", text).group(1))
        assert figure == pytest.approx(_independent_overlap_m2(hit["name"], layer["kind"]), abs=0.05)
        assert "投影面积" in text
    corner_tables = [b[1] for b in inside if b[0] == "t"]
    assert all(t[0] == ["拐点", "X（北坐标）m", "Y（东坐标）m"] and t[1][1:] == t[-1][1:] for t in corner_tables)  # closed


def test_conclusion_per_layer_comes_first(screened):
    body, data, _ = screened
    site = after_heading(doc_blocks(data), f"{body['site']['name']}：{body['verdict']['level']}")
    first = next(b for b in site if b[0] == "t")
    assert first[1][0] == ["图层", "结论", "依据"]
    by_layer = {row[0]: row for row in first[1][1:]}
    assert by_layer["生态保护红线"][1] == "涉及" and "重叠面积" in by_layer["生态保护红线"][2]
    assert by_layer["自然保护地"][1] == "涉及"
    water = next(layer for layer in body["layers"] if layer["kind"] == "water_source_zone")
    assert by_layer["饮用水水源保护区"][1] == ("临近" if water["hits"] else "不涉及")


def test_rules_cite_plan_title_and_line(screened):
    _, data, pdf = screened
    plan = yaml.safe_load((ROOT / "data" / "plans" / "500111.yaml").read_text(encoding="utf-8"))
    lines = {r["source"]["line"] for r in plan["control_rules"]["redline"]}
    text = "".join(b[2] for b in doc_blocks(data) if b[0] == "p")
    for line in lines:
        assert f"——《{plan['plan_title']}》第 {line} 行" in text
    assert ".txt" not in re.sub(r"\s", "", text.split("附：方法与数据说明")[0]).replace(JZD.name, "")  # 出处 is the plan, not a file


def test_report_body_is_in_readers_words(screened):
    """No library names, ISO timestamps or hashes before the method appendix."""
    body, data, pdf = screened
    text = "\n".join(b[2] if b[0] == "p" else "\n".join("|".join(r) for r in b[1]) for b in doc_blocks(data))
    main = text.split("附：方法与数据说明")[0]
    for word in ("pyproj", "Karney", "dissolve", "Polygon", body["method"]["checked_at"], body["method"]["data"]["version"]):
        assert word not in main, word
    assert "面（6 个拐点）" in main or "面（5 个拐点）" in main


def test_map_figure_is_in_both_reports(screened):
    _, data, pdf = screened
    media = [n for n in zipfile.ZipFile(io.BytesIO(data)).namelist() if n.startswith("word/media/")]
    assert media, "the Word report has the map picture"
    png = zipfile.ZipFile(io.BytesIO(data)).read(media[0])
    from PIL import Image

    image = Image.open(io.BytesIO(png))
    assert image.width >= 1300  # 170 mm at print resolution (200 dpi)
    pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    red = (pixels[:, 0] > 150) & (pixels[:, 1] < 60) & (pixels[:, 2] < 60)
    assert red.sum() > 500  # the red line's outline and hatch are drawn
    images = subprocess.run(["pdfimages", "-list", "-", ], input=pdf, capture_output=True).stdout.decode()
    assert len(images.strip().splitlines()) >= 3  # header lines + at least one image


def test_project_through_json_and_the_form(app):
    client = app.test_client()
    square = {"type": "Polygon", "coordinates": [[[105.600, 29.744], [105.602, 29.744], [105.602, 29.746], [105.600, 29.746], [105.600, 29.744]]]}
    body = client.post("/api/screen", json={"geometry": square, "crs": "EPSG:4490", "project": {"name": " 某项目 ", "review_date": "2026/12/1"}}).get_json()
    assert body["project"] == {"name": "某项目", "review_date": "2026-12-01"}
    token = csrf_token(client, "/screen")
    resp = client.post("/screen", data={"coordinates": json.dumps(square), "coord_source": "gps", "csrf_token": token,
                                        "project_name": "表单项目", "project_code": "XM-1"})
    assert resp.status_code == 303
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "表单项目" in page and "XM-1" in page


@pytest.mark.parametrize("project, words", [
    ({"bogus": "x"}, "无法识别的项目信息字段"),
    ({"name": "长" * 201}, "最多 200 个字符"),
    ({"review_date": "明天"}, "须为日期"),
    ({"name": 5}, "须为文字"),
    ("某项目", "project 须为对象"),
])
def test_bad_project_information_is_a_400_and_nothing_is_stored(app, project, words):
    client = app.test_client()
    audit = app.extensions["services"].audit
    before = len(audit.entries(10_000))
    resp = client.post("/api/screen", json={"geometry": {"type": "Point", "coordinates": [105.6, 29.745]}, "crs": "EPSG:4490", "project": project})
    assert resp.status_code == 400 and words in resp.get_json()["error"] and resp.get_json()["error_en"]
    assert len(audit.entries(10_000)) == before


def test_form_keeps_what_was_typed_after_an_error(app):
    client = app.test_client()
    resp = client.post("/screen", data={"coordinates": "不是坐标", "coord_source": "gps", "csrf_token": csrf_token(client, "/screen"),
                                        "project_name": "保留的项目名"})
    assert resp.status_code == 400
    assert 'value="保留的项目名"' in resp.get_data(as_text=True)


def test_audit_row_links_to_its_result(app, screened):
    body, _, _ = screened
    entry = next(e for e in app.extensions["services"].audit.entries(10_000) if e["result_id"] == body["result_id"])
    assert entry["action"] == "screen" and entry["summary"].startswith(PROJECT["name"])


def test_excel_summary_in_chinese_one_row_per_site_and_a_sheet_per_kind(app):
    """Two parcels of one file: the 汇总表 has one row each with the conclusion per kind, the kind sheets every hit of the
    JSON answer, the 说明 sheet the project and data status; the CSV form has the same rows with a BOM."""
    from openpyxl import load_workbook

    client = app.test_client()
    a = [[105.600, 29.744], [105.602, 29.744], [105.602, 29.746], [105.600, 29.746], [105.600, 29.744]]
    b = [[105.700, 29.700], [105.701, 29.700], [105.701, 29.701], [105.700, 29.701], [105.700, 29.700]]
    sites = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": f"地块甲{XSS}"}, "geometry": {"type": "Polygon", "coordinates": [a]}},
        {"type": "Feature", "properties": {"name": "地块乙"}, "geometry": {"type": "Polygon", "coordinates": [b]}}]}
    body = client.post("/api/screen", json={"geometry": sites, "crs": "EPSG:4490", "bands": [0, 100, 500],
                                            "project": {"name": "汇总项目", "code": "XM-9"}}).get_json()
    results = body["sites"]
    wb = load_workbook(io.BytesIO(client.get(body["links"]["xlsx"]).data))
    assert wb.sheetnames[0] == "汇总表" and wb.active.title == "汇总表" and "说明" in wb.sheetnames
    rows = list(wb["汇总表"].iter_rows(values_only=True))
    header, data = rows[0], rows[1:]
    for column in ("项目名称", "项目编号", "序号", "名称", "中心点经度", "中心点纬度", "面积（椭球，m²）", "总体结论",
                   "生态保护红线结论", "生态保护红线涉及要素名称", "生态保护红线重叠面积（m²）", "生态保护红线最近距离（m）", "数据状态", "坐标系"):
        assert column in header, column
    assert not any(re.fullmatch(r"[a-z_]+", str(h)) for h in header)  # no English field names
    assert len(data) == 2
    for row, r in zip(data, results):
        cell = dict(zip(header, row))
        assert cell["名称"] == r["site"]["name"] and cell["项目名称"] == "汇总项目" and cell["项目编号"] == "XM-9"
        assert cell["总体结论"] == r["verdict"]["level"] and cell["数据状态"].startswith("示意数据")
        assert cell["面积（椭球，m²）"] == pytest.approx(r["site"]["area_m2"])
        red = next(layer for layer in r["layers"] if layer["kind"] == "redline")
        inside = [h for h in red["hits"] if h["relation"] in ("within", "intersects")]
        assert cell["生态保护红线结论"] == ("涉及" if inside else "临近" if red["hits"] else "不涉及" if red["coverage"]["complete"] else "无法判定")
        if red["hits"]:
            assert cell["生态保护红线最近距离（m）"] == pytest.approx(min(h["distance_m"] for h in red["hits"]), abs=0.05)
        if inside:
            assert cell["生态保护红线重叠面积（m²）"] == pytest.approx(red["total_overlap_m2"])
    for layer_kind in app.extensions["services"].vocab.screened:
        sheet = list(wb[layer_kind.name_zh].iter_rows(values_only=True))
        expected = sum(len(layer["hits"]) for r in results for layer in r["layers"] if layer["kind"] == layer_kind.key)
        assert len(sheet) - 1 == expected and sheet[0][:4] == ("序号", "地块名称", "要素名称", "要素编号") and "关系" in sheet[0]
        assert all(row[sheet[0].index("数据状态")] == "示意数据" for row in sheet[1:])
    about = dict(list(wb["说明"].iter_rows(values_only=True))[1:])
    assert about["项目名称"] == "汇总项目" and about["数据状态"].startswith("示意数据") and "CGCS2000" in about["坐标系"]
    csv_resp = client.get(body["links"]["csv"] + "?table=summary")
    assert csv_resp.data.startswith("\ufeff".encode()) and 'filename="screening-' in csv_resp.headers["Content-Disposition"]
    import csv

    table = list(csv.reader(io.StringIO(csv_resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert tuple(table[0]) == header and len(table) == 3 and table[1][header.index("名称")] == f"地块甲{XSS}"
    assert client.get(body["links"]["csv"] + "?table=bogus").status_code == 400


def test_gis_exports_carry_the_project(app, screened, tmp_path):
    """Shapefile (GBK, zone 35) and KML of the screening name the project; the Shapefile reads back in its zone."""
    body, _, _ = screened
    client = app.test_client()
    archive = zipfile.ZipFile(io.BytesIO(client.get(body["links"]["shp"]).data))
    archive.extractall(tmp_path)
    assert archive.read("site_polygon.cpg").decode().strip().upper() in ("GBK", "CP936")
    frame = pyogrio.read_dataframe(tmp_path / "site_polygon.shp", encoding="GBK")
    assert frame.crs.to_epsg() == 4523 and set(frame["proj_name"]) == {PROJECT["name"][:254]}
    assert set(frame["proj_code"]) == {PROJECT["code"]}
    xs = {round(x, 3) for x in shapely.get_coordinates(frame.geometry.values)[:, 1]}  # northings = the TXT's X
    assert xs == {x for _, x, _ in txt_points()}
    kml = client.get(body["links"]["kml"]).data.decode()
    assert "大足区某物流园&lt;script&gt;" in kml and "重庆某某建设有限公司" in kml and "示意数据" in kml
