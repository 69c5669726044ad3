"""The hostile and broken corpus (tests/data/bad): each file gets a 4xx with a clear message,
nothing is left on disk, and the server is still healthy afterwards."""
import io
from pathlib import Path

import pytest

from conftest import ROOT
from test_screening_api import REPAIRED

BAD = ROOT / "tests" / "data" / "bad"
REFUSED = sorted(p.name for p in BAD.iterdir() if p.name not in REPAIRED)


def test_corpus_is_large_enough():
    assert len(list(BAD.iterdir())) >= 30


@pytest.mark.parametrize("name", REFUSED)
def test_every_hostile_upload_is_refused(client, name, tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with open(BAD / name, "rb") as fh:
        resp = client.post("/api/screen", data={"file": (fh, name)})
    assert 400 <= resp.status_code < 500, (name, resp.status_code)
    body = resp.get_json()
    assert body["error"] and body["error_en"] and "Traceback" not in resp.get_data(as_text=True)
    assert list(Path(tmp_path).iterdir()) == []
    assert client.get("/healthz").get_json()["status"] == "ok"


def _nested_collection(depth: int) -> str:
    text = '{"type": "Point", "coordinates": [105.72, 29.70]}'
    for _ in range(depth):
        text = '{"type": "GeometryCollection", "geometries": [' + text + ']}'
    return text


@pytest.mark.parametrize("path", ["/api/screen", "/api/sections/classify"])
def test_json_nested_beyond_the_parser_is_a_400(make_app, path):
    client = make_app(RATE_LIMIT_PER_MINUTE=100_000).test_client()  # not the shared app's screening budget
    deep = "[" * 5000 + "]" * 5000
    resp = client.post(path, data='{"geometry": ' + deep + "}", content_type="application/json")
    assert resp.status_code == 400 and "嵌套层数过多" in resp.get_json()["error"] and resp.get_json()["error_en"]
    upload = client.post("/api/screen", data={"file": (io.BytesIO(('{"type": "FeatureCollection", "features": ' + deep + "}").encode()),
                                                        "deep.geojson")})
    assert upload.status_code == 400 and "嵌套层数过多" in upload.get_json()["error"]
    assert client.get("/healthz").status_code == 200


def test_collections_inside_collections_are_opened_to_their_parts(make_app):
    """KML MultiGeometry in MultiGeometry, GeoJSON collections in collections: the point inside is what is screened."""
    client = make_app(RATE_LIMIT_PER_MINUTE=100_000).test_client()
    plain = client.post("/api/screen", json={"geometry": {"type": "Point", "coordinates": [105.72, 29.70]}}).get_json()
    for depth in (2, 200):
        nested = client.post("/api/screen", data='{"geometry": ' + _nested_collection(depth) + "}", content_type="application/json")
        assert nested.status_code == 200, nested.get_json()
        body = nested.get_json()
        assert body["site"]["site_type"] == "point"
        assert [(layer["kind"], layer["status"]) for layer in body["layers"]] == [(layer["kind"], layer["status"]) for layer in plain["layers"]]


def _xlsx_declaring(dimension: str, rows: list[list]) -> bytes:
    """An .xlsx whose sheet claims `dimension` (e.g. the whole grid A1:XFD1048576) whatever it holds."""
    import re
    import zipfile

    import openpyxl

    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    raw = io.BytesIO()
    wb.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]*"/>', f'<dimension ref="{dimension}"/>'.encode(), data)
            zout.writestr(item, data)
    return out.getvalue()


MONITORING_IMPORTS = {"/api/sections/measurements": ["adcode", "section", "date", "NH3-N"],
                      "/api/air/measurements": ["站点", "日期", "PM2.5"]}


@pytest.mark.parametrize("path", MONITORING_IMPORTS)
def test_spreadsheet_bombs_are_refused_without_reading_them_whole(make_app, path, monkeypatch):
    """A 5 KB .xlsx declaring the whole grid is read as the one row it stores; more rows or columns than a
    monitoring table has are refused with the limit named, for CSV and Excel, by both imports."""
    from conftest import admin_client, csrf_token

    import geo.spreadsheet as sheet

    app = make_app(RATE_LIMIT_PER_MINUTE=100_000)
    client = admin_client(app)
    token = csrf_token(client, "/screen")

    def post(name, data):
        return client.post(path, data={"file": (io.BytesIO(data), name)}, headers={"X-CSRFToken": token})

    header = MONITORING_IMPORTS[path]
    bomb = _xlsx_declaring("A1:XFD1048576", [header])
    assert len(bomb) < 10_000
    resp = post("bomb.xlsx", bomb)
    assert resp.status_code == 400 and "没有数据行" in resp.get_json()["error"]
    monkeypatch.setattr(sheet, "MAX_TABLE_ROWS", 50)
    many = "\n".join([",".join(header)] + [",".join(["x"] * len(header))] * 51) + "\n"
    for name, data in (("rows.csv", many.encode()), ("rows.xlsx", _xlsx_declaring("A1:D52", [header] + [["x"] * len(header)] * 51))):
        resp = post(name, data)
        assert resp.status_code == 400 and "行数超过 50" in resp.get_json()["error"] and "rows" in resp.get_json()["error_en"], name
    wide = ",".join(header + [f"c{i}" for i in range(sheet.MAX_TABLE_COLUMNS)]) + "\n"
    resp = post("wide.csv", wide.encode())
    assert resp.status_code == 400 and f"列数超过 {sheet.MAX_TABLE_COLUMNS}" in resp.get_json()["error"]
    assert client.get("/healthz").status_code == 200


def test_a_view_layer_is_refused_by_the_batch_reader_too():
    """The screen-batch input reader opens GeoPackages through the same check (the view would never finish)."""
    from geo.errors import DataError
    from services.batch import read_sites

    with pytest.raises(DataError) as info:
        read_sites(BAD / "recursive_view.gpkg")
    assert "视图" in info.value.message_zh and "view" in info.value.message_en


def zigzag_polygon(n: int):
    """A self-crossing ring of n vertices near 大足 that crosses itself about 5 times per vertex: GEOS's repair
    grows with the crossings (the default method took 137 s at 20,000 vertices)."""
    import numpy as np
    import shapely

    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = 1 + 0.5 * ((np.arange(n) % 2) * 2 - 1)
    return shapely.Polygon(np.c_[105.72 + 0.01 * np.cos(t * 3.0001) * r, 29.70 + 0.01 * np.sin(t * 7) * r])


def test_a_self_crossing_polygon_is_repaired_or_refused_within_the_budget(make_app):
    """A 3,000-vertex site with one crossing (two vertices swapped, as a slip in digitising makes) is repaired in the
    child process and said; a 199,000-vertex zigzag is refused with 413 naming the setting once the budget is spent,
    while another request is answered meanwhile."""
    import numpy as np
    import shapely

    from conftest import with_healthz_meanwhile

    client = make_app(RATE_LIMIT_PER_MINUTE=100_000, REPAIR_BUDGET_SECONDS=2).test_client()
    t = np.linspace(0, 2 * np.pi, 3_000, endpoint=False)
    ring = np.c_[105.72 + 0.005 * np.cos(t), 29.70 + 0.005 * np.sin(t)]
    ring[[100, 101]] = ring[[101, 100]]  # one slip: the ring crosses itself once
    slip = shapely.Polygon(ring)
    assert not slip.is_valid
    small = client.post("/api/screen", json={"geometry": shapely.geometry.mapping(slip)})
    assert small.status_code == 200, small.get_json()
    assert "make_valid（structure 方法" in small.get_data(as_text=True)
    big, elapsed, answered = with_healthz_meanwhile(client, lambda: client.post("/api/screen", json={"geometry": shapely.geometry.mapping(zigzag_polygon(199_000))}))
    assert big.status_code == 413 and "REPAIR_BUDGET_SECONDS" in big.get_json()["error"] and big.get_json()["error_en"]
    assert elapsed < 20  # the budget (2 s) and the child's start, not the minutes the repair would take
    assert answered == [200]
