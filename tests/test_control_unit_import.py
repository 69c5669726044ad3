"""Importing 环境管控单元 (control units): a zipped GBK Shapefile in Gauss-Krüger zone 35 with its fields mapped
(HJGKDYBM → unit_code, HJGKDYMC → name, GKLB 1/2/3 → unit_class), the 准入清单 from an Excel sheet keyed by unit
code, and the tiling check (gaps and overlaps listed with area and location; publishing refused while they exist).

The files are tests/data/control_units/ (made by its make.py, which also gives the rectangles of the deliberate gap
and overlap); expected areas are computed here with pyproj on those rectangles, not with the code under test."""
import importlib.util
import io
import re
import time

import numpy as np
import pyogrio
import pytest
import shapely
from openpyxl import Workbook
from pyproj import Geod, Transformer

from conftest import ROOT, admin_client, csrf_token

DATA = ROOT / "tests" / "data" / "control_units"
GAP_OVERLAP = DATA / "units_dazu_gap_overlap_gk35_gbk.zip"
CLEAN = DATA / "units_dazu_clean_gk35_gbk.zip"
XLSX = DATA / "admission_list.xlsx"
GEOD = Geod(ellps="GRS80")
TO_LL = Transformer.from_crs(4523, 4490, always_xy=True)

_spec = importlib.util.spec_from_file_location("control_unit_fixtures", DATA / "make.py")
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)


def rect_lonlat(rect):
    """A GK zone 35 rectangle (xmin, ymin, xmax, ymax) as a lon/lat polygon: its four corners transformed by pyproj."""
    x0, y0, x1, y1 = rect
    xs, ys = TO_LL.transform([x0, x1, x1, x0], [y0, y0, y1, y1])
    return shapely.Polygon(list(zip(xs, ys)))


def geod_m2(poly) -> float:
    return abs(GEOD.geometry_area_perimeter(shapely.orient_polygons(poly))[0])


@pytest.fixture()
def app(make_app):
    return make_app()


def upload(client, path, xlsx=XLSX, kind="control_unit", name=None):
    data = {"file": (io.BytesIO(path.read_bytes()), path.name), "district": "500111", "kind": kind,
            "csrf_token": csrf_token(client, "/admin/")}
    if xlsx is not None:
        data["admission_list"] = (io.BytesIO(xlsx.read_bytes() if hasattr(xlsx, "read_bytes") else xlsx), name or getattr(xlsx, "name", "list.xlsx"))
    return client.post("/admin/import", data=data)


def confirm_code(page: str) -> str | None:
    m = re.search(r'name="confirm_change" value="([^"]+)"', page)
    return m.group(1) if m else None


def services(app):
    return app.extensions["services"]


def stage(app, path=GAP_OVERLAP, xlsx=XLSX):
    from services import layer_admin
    from services.context import Actor

    admission = (xlsx.name, xlsx.read_bytes()) if xlsx is not None else None
    staged = layer_admin.stage(services(app), Actor.cli("test"), path.name, path.read_bytes(), "500111", "control_unit", None, admission)
    return layer_admin.review(services(app), staged.token)


# ------------------------------------------------------------------------------------------------ the report

def test_fields_are_mapped_and_the_gap_and_overlap_found_with_their_area_and_place(app):
    _, mapping, rep = stage(app)
    assert "EPSG:4523" in (rep["crs"].get("assumed") or rep["crs"].get("as_read"))  # CGCS2000 GK zone 35, from the .prj
    assert mapping == {"name": "HJGKDYMC", "unit_code": "HJGKDYBM", "unit_class": "GKLB", "spatial_layout": "KJBJ"}
    assert not any("取值不在" in p for p in rep["problems"])  # GKLB 1/2/3 are the aliases of the three classes
    t = rep["tiling"]
    gap, overlap = rect_lonlat(fixtures.GAP_GK), rect_lonlat(fixtures.OVERLAP_GK)
    gap_m2, overlap_m2 = geod_m2(gap), geod_m2(overlap)
    assert gap_m2 == pytest.approx(4000, rel=5e-4) and overlap_m2 == pytest.approx(9000, rel=5e-4)  # the plane areas, by hand
    (g,) = t["gaps"]
    assert g["area_m2"] == pytest.approx(gap_m2, abs=0.05)
    assert gap.contains(shapely.Point(g["lon"], g["lat"]))
    assert g["ids"] == ["ZH50011110001", "ZH50011110002"]
    (o,) = t["overlaps"]
    assert o["area_m2"] == pytest.approx(overlap_m2, abs=0.05)
    assert overlap.contains(shapely.Point(o["lon"], o["lat"]))
    assert o["ids"] == ["ZH50011130001", "ZH50011130002"]
    # the small layer leaves the rest of the district uncovered: said apart from the gap between units
    (rest,) = t["uncovered"]
    district = services(app).live.get().districts.store.read("district", "500111").geometry.union_all()
    grid = shapely.union_all([rect_lonlat((fixtures.E0, fixtures.N0, fixtures.E0 + 3000, fixtures.N0 + 2000))])
    assert rest["area_m2"] == pytest.approx(geod_m2(district) - geod_m2(grid), rel=1e-6)
    assert t["coverage_pct"] == pytest.approx((geod_m2(grid) - gap_m2) / geod_m2(district) * 100, abs=1e-3)
    assert district.contains(shapely.Point(rest["lon"], rest["lat"])) and not grid.contains(shapely.Point(rest["lon"], rest["lat"]))
    assert t["outside_district_m2"] == 0
    problems = " ".join(rep["problems"])
    assert "管控单元相互重叠 1 处" in problems and "ZH50011130001 与 ZH50011130002" in problems
    assert "管控单元之间有缝隙" in problems and "TILING_MAX_UNCOVERED_PCT" in problems
    assert not rep["ok"]


def test_admission_list_codes_that_do_not_match_are_listed(app):
    _, _, rep = stage(app)
    a = rep["admission"]
    assert a["sheet"] == "准入清单" and a["header_row"] == 2 and a["code_header"] == "环境管控单元编码"
    assert a["columns"] == {"spatial_layout": "空间布局约束", "pollutant_discharge": "污染物排放管控",
                            "risk_prevention": "环境风险防控", "resource_efficiency": "资源利用效率"}
    assert [m["code"] for m in a["not_in_layer"]] == [fixtures.EXTRA[0]] and a["not_in_layer"][0]["row"] == 5
    assert [m["code"] for m in a["missing_in_list"]] == [fixtures.NOT_LISTED]
    assert a["matched_units"] == 5 and a["duplicates"] == [] and a["unknown_levels"] == {}
    warnings = " ".join(rep["warnings"])
    assert fixtures.EXTRA[0] in warnings and fixtures.NOT_LISTED in warnings
    assert not any(fixtures.EXTRA[0] in p for p in rep["problems"])  # a mismatch is a warning, not a problem


def test_duplicate_codes_are_problems_in_the_layer_and_in_the_sheet(app, tmp_path):
    frame = pyogrio.read_dataframe(f"/vsizip/{CLEAN}", encoding="GBK")
    frame.loc[1, "HJGKDYBM"] = frame.loc[0, "HJGKDYBM"]
    dup_layer = tmp_path / "dup_units.gpkg"
    pyogrio.write_dataframe(frame, dup_layer, driver="GPKG")
    wb = Workbook()
    ws = wb.active
    ws.append(["单元编码", "空间布局约束", "资源利用效率"])
    ws.append(["ZH50011110001", "【单元】甲", ""])
    ws.append(["zh500111 10001", "【单元】乙", ""])  # the same code, other case and a space; different text
    ws.append(["ZH50011120001", "【单元】丙", "【镇级】丁"])
    ws.append(["ZH50011120001", "【单元】丙", "【镇级】丁"])  # repeated as is
    ws.append([None, "没有编码的一行", None])
    sheet = tmp_path / "dup.xlsx"
    wb.save(sheet)
    _, _, rep = stage(app, dup_layer, sheet)
    problems = " ".join(rep["problems"])
    assert f"单元编码重复 1 个：{frame.loc[0, 'HJGKDYBM']}（第 1、2 个要素）" in problems
    assert "准入清单中单元编码重复且内容不同" in problems and "第 2、3 行" in problems
    warnings = " ".join(rep["warnings"])
    assert "内容相同，按一行处理：ZH50011120001（第 4、5 行）" in warnings
    assert "第 6 行有内容但单元编码为空" in warnings
    assert "【镇级】" in warnings  # a requirement level the vocabulary does not know
    assert rep["admission"]["columns"] == {"spatial_layout": "空间布局约束", "resource_efficiency": "资源利用效率"}
    assert not rep["ok"]


@pytest.mark.parametrize("name, body, status, words", [
    ("list.xls", b"\xd0\xcf\x11\xe0 old excel", 415, "不支持旧版 .xls"),
    ("list.csv", "单元编码,空间布局约束\n".encode(), 415, "须为 Excel .xlsx"),
    ("list.xlsx", b"just text, not a workbook", 400, "不是有效的 .xlsx"),
    ("list.xlsx", None, 400, "未找到准入清单的表头"),
], ids=["xls", "csv", "not-a-zip", "no-header"])
def test_a_sheet_that_is_not_an_admission_list_is_refused_and_nothing_staged(app, name, body, status, words):
    if body is None:  # a real workbook, but not a 准入清单
        wb = Workbook()
        wb.active.append(["序号", "备注"])
        wb.active.append([1, "无关内容"])
        raw = io.BytesIO()
        wb.save(raw)
        body = raw.getvalue()
    client = admin_client(app)
    resp = upload(client, CLEAN, xlsx=body, name=name)
    assert resp.status_code == status
    assert words in resp.get_data(as_text=True)
    assert [e for e in services(app).audit.entries() if e["action"] == "stage"] == []
    assert client.get("/healthz").status_code == 200


def test_an_admission_list_for_a_kind_without_one_is_refused(app):
    resp = upload(admin_client(app), ROOT / "tests" / "data" / "official_redline_dazu_gk35_gbk.zip", kind="redline")
    assert resp.status_code == 400 and "没有准入清单" in resp.get_data(as_text=True)


def test_a_zip_bomb_disguised_as_a_workbook_is_refused(app):
    raw = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"<" + b"a" * (60 * 1024 * 1024) + b"/>")
    resp = upload(admin_client(app), CLEAN, xlsx=raw.getvalue(), name="bomb.xlsx")
    assert resp.status_code == 413 and "压缩" in resp.get_data(as_text=True)


def test_entity_declarations_in_a_workbook_are_refused(app):
    with io.BytesIO(XLSX.read_bytes()) as src:
        import zipfile

        out = io.BytesIO()
        with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w") as zout:
            for m in zin.infolist():
                body = zin.read(m)
                if m.filename == "xl/worksheets/sheet1.xml":
                    body = b'<!DOCTYPE x [<!ENTITY a "aaaa">]>' + body
                zout.writestr(m, body)
    resp = upload(admin_client(app), CLEAN, xlsx=out.getvalue(), name="entities.xlsx")
    assert resp.status_code == 400 and "实体声明" in resp.get_data(as_text=True)


def test_the_admission_list_survives_a_rebuild_on_another_worker(app, tmp_path, monkeypatch):
    """With DATABASE_URL several workers share the staged uploads (services.results.SharedStaging): a worker that did
    not read the upload rebuilds it from the stored layer bytes, and the 准入清单 comes back from the stored source.
    Here the shared table lives in SQLite, with the PostgreSQL migration's columns."""
    from services.results import SharedStaging
    from state.db import SqliteDatabase

    db = SqliteDatabase(tmp_path / "shared.sqlite")
    db.execute("CREATE TABLE staged_imports (token TEXT PRIMARY KEY, created_at DOUBLE PRECISION NOT NULL, source TEXT NOT NULL, data BLOB NOT NULL)")
    ctx = services(app)
    monkeypatch.setattr(ctx, "staging", SharedStaging(db, ctx._restage))
    _, _, first = stage(app, CLEAN)
    token = db.execute("SELECT token FROM staged_imports")[0][0]
    ctx.staging._items.clear()  # another worker: nothing in its memory
    from services import layer_admin

    item, _, again = layer_admin.review(ctx, token)
    assert item.admission is not None and again["admission"] == first["admission"]
    assert again["admission"]["matched_units"] == 5


# ------------------------------------------------------------------------------------------------ the admin pages

def test_the_form_offers_the_admission_list_and_the_review_page_shows_the_check(app):
    client = admin_client(app)
    form = client.get("/admin/").get_data(as_text=True)
    assert 'name="admission_list"' in form and "准入清单（Excel）" in form and 'data-kinds="control_unit"' in form
    resp = upload(client, GAP_OVERLAP)
    assert resp.status_code == 303
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    for attr, field in (("unit_code", "HJGKDYBM"), ("name", "HJGKDYMC"), ("unit_class", "GKLB")):
        assert re.search(rf'name="map_{attr}">.*?<option value="{field}" selected>', page, re.S), attr
    assert "铺满检查" in page
    gap_row = re.search(r'<tr data-part="gap">(.*?)</tr>', page, re.S).group(1)
    overlap_row = re.search(r'<tr data-part="overlap">(.*?)</tr>', page, re.S).group(1)
    gap_m2, overlap_m2 = geod_m2(rect_lonlat(fixtures.GAP_GK)), geod_m2(rect_lonlat(fixtures.OVERLAP_GK))
    assert f"{gap_m2:.1f}" in gap_row and "ZH50011110001、ZH50011110002" in gap_row
    assert f"{overlap_m2:.1f}" in overlap_row and "ZH50011130001、ZH50011130002" in overlap_row
    assert re.search(r"\d{3}\.\d{6}, \d{2}\.\d{6}", overlap_row)  # its location, lon, lat
    assert re.search(r'class="not-in-layer">1 个.*?ZH50011120099', page, re.S)
    assert re.search(r'class="missing-in-list">1 个.*?ZH50011130002', page, re.S)
    assert "需要处理" in page and re.search(r'<button type="submit" formaction="[^"]+" disabled>发布为新版本', page)

    token = resp.headers["Location"].rsplit("/", 1)[1]
    refused = client.post(f"/admin/imports/{token}/publish", data={"csrf_token": csrf_token(client, "/admin/"), "confirm_change": confirm_code(page) or ""})
    assert refused.status_code == 400 and "相互重叠" in refused.get_data(as_text=True)
    assert services(app).repository.history() == []


def test_a_clean_layer_is_published_with_the_admission_text_from_the_sheet(app):
    client = admin_client(app)
    resp = upload(client, CLEAN)
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "需要处理" not in page, re.findall(r"<li>(.*?)</li>", page)
    assert "提示（不影响发布" in page and "ZH50011120099" in page
    token = resp.headers["Location"].rsplit("/", 1)[1]
    form = {"csrf_token": csrf_token(client, "/admin/")}
    if confirm_code(page):
        form["confirm_change"] = confirm_code(page)
    done = client.post(f"/admin/imports/{token}/publish", data=form)
    assert done.status_code == 303, done.get_data(as_text=True)[:2000]
    assert services(app).repository.current_versions()["500111/control_unit"] == "v0001"

    layer = services(app).live.get().store.read("control_unit", "500111").set_index("unit_code")
    assert len(layer) == 7
    for code, name, cls, own in list(fixtures.UNITS.values()) + [fixtures.REST]:
        row = layer.loc[code]
        assert row["name"] == name
        assert row["unit_class"] == {1: "优先保护单元", 2: "重点管控单元", 3: "一般管控单元"}[cls]
        if code in (fixtures.NOT_LISTED, fixtures.REST[0]):  # no row in the sheet: what the layer itself has
            assert row["spatial_layout"] == own and row["pollutant_discharge"] == ""
        else:
            texts = fixtures.admission_texts(code, name)
            for dim in ("spatial_layout", "pollutant_discharge", "risk_prevention", "resource_efficiency"):
                assert row[dim] == texts[dim]
            assert row["spatial_layout"].split("\n")[0].startswith("【市级总体】")
    assert "准入清单：admission_list.xlsx" in layer["source"].iloc[0]
    entry = services(app).repository.history("500111", "control_unit")[0]
    assert entry["admission_list"]["source_name"] == "admission_list.xlsx" and entry["admission_list"]["matched_units"] == 5
    stage_row = next(e for e in services(app).audit.entries() if e["action"] == "stage")
    assert "准入清单 admission_list.xlsx（6 行" in stage_row["summary"]


def test_cli_publish_with_an_admission_list(app):
    runner = app.test_cli_runner()
    bad = runner.invoke(args=["layers", "publish", str(GAP_OVERLAP), "--district", "500111", "--kind", "control_unit",
                              "--admission-list", str(XLSX), "--yes", "--confirm-change"])
    assert bad.exit_code != 0 and re.search(r"重叠 1 处 899\d\.\d+ m²", bad.output) and "ZH50011120099" in bad.output
    assert services(app).repository.history() == []
    ok = runner.invoke(args=["layers", "publish", str(CLEAN), "--district", "500111", "--kind", "control_unit",
                             "--admission-list", str(XLSX), "--yes", "--confirm-change"])
    assert ok.exit_code == 0, ok.output
    assert "5 个单元按编码填入" in ok.output and "清单中有、图层中没有的编码：ZH50011120099" in ok.output
    assert "已发布 v0001" in ok.output


# ------------------------------------------------------------------------------------------------ geo.tiling alone

def _wiggly_grid(n_cols: int, n_rows: int, k: int):
    """Cells of 0.01° sharing wiggly edges of k vertices exactly (a clean coverage of k·4 vertices per cell)."""
    rng = np.random.default_rng(7)
    t = np.linspace(0, 1, k)

    def wiggle():
        return 0.05 * np.sin(2 * np.pi * 5 * t) * 4 * t * (1 - t) + rng.normal(0, 1e-5, k) * (t > 0) * (t < 1)

    v = {(i, j): np.column_stack([i + wiggle() * (0 < i < n_cols), j + t]) for i in range(n_cols + 1) for j in range(n_rows)}
    h = {(i, j): np.column_stack([i + t, j + wiggle() * (0 < j < n_rows)]) for i in range(n_cols) for j in range(n_rows + 1)}
    cells = []
    for i in range(n_cols):
        for j in range(n_rows):
            ring = np.vstack([h[i, j], v[i + 1, j][1:], h[i, j + 1][::-1][1:], v[i, j][::-1][1:]]) * 0.01 + [105.6, 29.6]
            cells.append(shapely.Polygon(ring))
    return cells


def test_tiling_is_fast_for_units_of_a_hundred_thousand_vertices():
    from geo.tiling import tiling_report

    cells = _wiggly_grid(2, 2, 25_000)
    assert all(c.is_valid for c in cells) and min(shapely.get_num_coordinates(cells)) > 99_000
    district = shapely.box(105.6, 29.6, 105.62, 29.62)
    started = time.perf_counter()
    rep = tiling_report(cells, ["A", "B", "C", "D"], district)
    assert time.perf_counter() - started < 30
    assert rep["overlaps"] == [] and rep["gaps"] == [] and rep["coverage_pct"] == pytest.approx(100, abs=1e-6)
    # one cell grown over its neighbour, another with a hole: found, with the pair and the cell around the hole
    bump = shapely.box(105.6095, 29.603, 105.611, 29.605)
    hole = shapely.box(105.613, 29.613, 105.614, 29.614)
    a = cells[0]
    cells[2] = shapely.union(cells[2], bump)  # C (column 1, row 0) reaches into A (column 0, row 0)
    cells[3] = shapely.difference(cells[3], hole)
    rep = tiling_report(cells, ["A", "B", "C", "D"], district)
    (o,) = rep["overlaps"]
    assert o["ids"] == ["A", "C"] and o["area_m2"] == pytest.approx(geod_m2(shapely.intersection(bump, a)), rel=1e-6)
    assert o["area_m2"] == pytest.approx(rep["overlap_total_m2"], rel=1e-6)
    (g,) = rep["gaps"]
    assert g["ids"] == ["D"] and g["area_m2"] == pytest.approx(geod_m2(hole), abs=0.01)
