"""The vocabulary is the one place a layer kind is declared: a throw-away kind registered from a
test vocabulary file (plus its data) shows up in the catalogue, the layer API, the map page,
screening and the shares matrix; a broken vocabulary file stops start-up naming file and field."""
import json
import re
import shutil

import geopandas as gpd
import pyogrio
import pytest
import shapely
import yaml
from pyproj import Geod
from shapely.geometry import box, mapping, shape

from conftest import ROOT, admin_client, create_app
from geo.errors import ConfigError

GEOD = Geod(ellps="GRS80")
KIND = "test_farmland"
LABEL = "测试永久基本农田"
CONFLICT_LABEL = "测试：红线图斑互相重叠"
# two polygons inside 大足区 (500111), lon/lat CGCS2000: the first clear of the red line, the
# second straddling the edge of the demo red line patch 大足区生态保护红线 05
FARM_1 = box(105.700, 29.600, 105.710, 29.610)
FARM_2 = box(105.720, 29.614, 105.730, 29.624)
SITE = box(105.705, 29.605, 105.715, 29.615)  # overlaps a quarter of FARM_1, no other farmland


def geodesic_m2(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(shapely.orient_polygons(geom))[0])


def farm_vocabulary() -> dict:
    raw = yaml.safe_load((ROOT / "data" / "vocabulary.yaml").read_text(encoding="utf-8"))
    raw["kinds"][KIND] = {
        "label": LABEL,
        "geometry": "polygon",
        "attributes": {"farm_grade": {"label": "耕地等别", "synonyms": ["farm_grade", "gdb", "耕地等别"]}},
        "popup": ["name", "farm_grade"],
        "style": {"color": "#b8860b", "weight": 1, "fillColor": "#f0e68c", "fillOpacity": 0.4},
        "screened": True,
        "in_shares": True,
        "overlap_color": "#b8860b",
        "rules": None,
    }
    raw["conflicts"]["redline_internal_overlaps"]["label"] = CONFLICT_LABEL  # a deployment's own wording
    return raw


def write_yaml(path, raw):
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def farm_app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("vocab")
    vocab = write_yaml(tmp / "vocabulary.yaml", farm_vocabulary())
    gpkg = tmp / "layers.gpkg"
    shutil.copy(ROOT / "data" / "demo.gpkg", gpkg)
    farms = gpd.GeoDataFrame({"feature_id": ["500111-tf-1", "500111-tf-2"], "name": ["测试农田甲", "测试农田乙"], "adcode": ["500111"] * 2,
                              "source": ["测试数据"] * 2, "is_demo": [1, 1], "farm_grade": ["一等", "二等"]},
                             geometry=[FARM_1, FARM_2], crs="EPSG:4490")
    pyogrio.write_dataframe(farms, gpkg, layer=KIND, driver="GPKG")
    return create_app({"VOCABULARY": str(vocab), "LAYERS_GPKG": str(gpkg), "INSTANCE_DIR": str(tmp / "instance"),
                       "MEASUREMENTS_DB": str(tmp / "measurements.sqlite")})


@pytest.fixture(scope="module")
def farm_client(farm_app):
    return farm_app.test_client()


def union_of(client, adcode, kind):
    fc = client.get(f"/api/districts/{adcode}/layers/{kind}").get_json()
    return shapely.union_all([shape(f["geometry"]) for f in fc["features"]])


def test_fixture_polygons_lie_in_dazu(farm_client):
    dazu = union_of(farm_client, "500111", "district")
    redline = union_of(farm_client, "500111", "redline")
    assert FARM_1.within(dazu) and FARM_2.within(dazu) and SITE.within(dazu)
    assert not FARM_1.intersects(redline) and FARM_2.intersection(redline).area > 0
    assert not SITE.intersects(FARM_2)


def test_catalogue_and_admin_list_the_new_kind(farm_app, farm_client):
    kinds = {k["key"]: k for k in farm_client.get("/api/layers").get_json()}
    assert KIND in kinds
    farm = kinds[KIND]
    assert farm["name_zh"] == LABEL and farm["geometry_types"] == ["Polygon", "MultiPolygon"]
    assert "farm_grade" in farm["attributes"] and farm["screened"] is True and farm["in_shares"] is True
    assert farm["legend"] == [{"label": LABEL, "color": "#b8860b", "fill": "#f0e68c", "shape": "polygon"}]
    assert KIND in farm_client.get("/api/vocabulary").get_json()["kinds"]
    # an administrator can pick it as an import target
    assert LABEL in admin_client(farm_app).get("/admin/").get_data(as_text=True)


def test_layer_api_serves_both_features_with_ellipsoidal_areas(farm_client):
    fc = farm_client.get(f"/api/districts/500111/layers/{KIND}").get_json()
    assert fc["kind"] == KIND and fc["name"] == LABEL
    by_id = {f["id"]: f for f in fc["features"]}
    assert sorted(by_id) == ["500111-tf-1", "500111-tf-2"]
    for fid, geom in (("500111-tf-1", FARM_1), ("500111-tf-2", FARM_2)):
        props = by_id[fid]["properties"]
        assert props["area_m2"] == pytest.approx(geodesic_m2(geom), abs=0.1)  # the API rounds to 0.1 m²
        assert props["kind"] == KIND and props["adcode"] == "500111"
    assert by_id["500111-tf-1"]["properties"]["farm_grade"] == "一等"
    # another district has none
    assert farm_client.get(f"/api/districts/500110/layers/{KIND}").get_json()["features"] == []


def test_map_page_has_the_kind_in_its_layer_control(farm_client):
    html = farm_client.get("/districts/500111").get_data(as_text=True)
    overlays = re.search(r"overlays\s*:\s*\{(.*?)\}", html, re.DOTALL).group(1)
    names = {json.loads(f'"{name}"'): var for name, var in re.findall(r'"((?:[^"\\]|\\.)*)"\s*:\s*(remote_geo_json_\w+)', overlays)}
    assert LABEL in names
    config = json.loads(re.search(rf"var {names[LABEL]} = ZoningMap\.remoteLayer\((\{{.*?\}})\);", html, re.DOTALL).group(1))
    assert config["key"] == KIND and config["url"] == f"/api/districts/500111/layers/{KIND}?display=1"
    assert config["popup_fields"] == [["name", "名称"], ["farm_grade", "耕地等别"]]


def test_screening_reports_the_overlap_with_the_new_kind(farm_client):
    body = farm_client.post("/api/screen", json={"geometry": mapping(SITE)}).get_json()
    (farm,) = [layer for layer in body["layers"] if layer["kind"] == KIND]
    assert farm["name_zh"] == LABEL
    (hit,) = [h for h in farm["hits"] if h["relation"] != "near"]
    expected = geodesic_m2(SITE.intersection(FARM_1))
    assert hit["id"] == "500111-tf-1" and hit["relation"] == "intersects"
    assert hit["overlap_m2"] == pytest.approx(expected, rel=1e-3)
    assert farm["total_overlap_m2"] == pytest.approx(expected, rel=1e-3)
    assert hit["overlap_pct_of_site"] == pytest.approx(expected / geodesic_m2(SITE) * 100, rel=1e-3)
    assert LABEL in body["verdict"]["involved"]
    assert body["method"]["data"]["layer_versions"][f"500111/{KIND}"].startswith("demo:")


def test_shares_matrix_includes_the_new_kind(farm_client):
    body = farm_client.get("/api/districts/500111/shares").get_json()
    rows = [o for o in body["overlaps"] if KIND in (o["a"], o["b"])]
    # paired with every other polygon kind in the shares (the water-source zones split by zone level)
    partners = {o["b"] if o["a"] == KIND else o["a"] for o in rows}
    assert {"redline", "protected_area"} <= partners and any(p.startswith("water_source_zone:") for p in partners)
    dazu = union_of(farm_client, "500111", "district")
    farm_m2 = geodesic_m2(shapely.union_all([FARM_1, FARM_2]).intersection(dazu))
    with_redline = next(o for o in rows if {o["a"], o["b"]} == {KIND, "redline"})
    farm_side = "a_m2" if with_redline["a"] == KIND else "b_m2"
    assert with_redline[farm_side] == pytest.approx(farm_m2, rel=1e-6)
    redline = union_of(farm_client, "500111", "redline").intersection(dazu)
    expected_overlap = geodesic_m2(shapely.union_all([FARM_1, FARM_2]).intersection(redline))
    assert expected_overlap > 1000
    assert with_redline["overlap_m2"] == pytest.approx(expected_overlap, rel=1e-4)
    assert body["within_layer"][KIND]["n_features"] == 2


def test_shares_name_conflicts_in_the_configured_words(farm_client):
    body = farm_client.get("/api/districts/500111/shares").get_json()
    assert body["conflicts"]["redline_internal_overlaps"]["label"] == CONFLICT_LABEL


def test_shares_matrix_names_the_new_kind_by_its_label(farm_client):
    body = farm_client.get("/api/districts/500111/shares").get_json()
    row = next(o for o in body["overlaps"] if KIND in (o["a"], o["b"]))
    assert (row["a_name_zh"] if row["a"] == KIND else row["b_name_zh"]) == LABEL


def test_the_api_description_lists_the_configured_kind(farm_client):
    spec = farm_client.get("/api/openapi.json").get_json()
    kinds = spec["components"]["schemas"]["LayerKindKey"]["enum"]
    assert KIND in kinds and "redline" in kinds


def broken(raw, where):
    farm = raw["kinds"][KIND]
    if where == "style_by":
        farm["style_by"] = "farm_class"  # no such attribute
    elif where == "overlap_color":
        farm["overlap_color"] = "red"
    elif where == "value_color":
        farm["attributes"]["farm_grade"]["values"] = {"一等": {"color": "red"}}
    elif where == "popup":
        farm["popup"] = ["name", "farm_class"]
    elif where == "style_color":
        farm["style"]["fillColor"] = "yellow"  # Leaflet would take it; the legend and PDF could not
    elif where == "style_option":
        farm["style"]["fill_opacity"] = 0.4  # a misspelt option Leaflet silently ignores
    return raw


@pytest.mark.parametrize("where, field", [
    ("style_by", "kinds/test_farmland/style_by"),
    ("overlap_color", "kinds/test_farmland/overlap_color"),
    ("value_color", "kinds/test_farmland/attributes/farm_grade/values/一等/color"),
    ("popup", "kinds/test_farmland/popup"),
    ("style_color", "kinds/test_farmland/style/fillColor"),
    ("style_option", "kinds/test_farmland/style/fill_opacity"),  # the unknown option itself
])
def test_a_broken_vocabulary_stops_start_up_naming_file_and_field(make_app, tmp_path, where, field):
    path = write_yaml(tmp_path / "broken_vocabulary.yaml", broken(farm_vocabulary(), where))
    with pytest.raises(ConfigError) as info:
        make_app(VOCABULARY=str(path))
    assert info.value.path == str(path) and info.value.field == field
    assert str(path) in str(info.value) and field in str(info.value)


def test_air_station_symbols_match_its_levels(make_app, tmp_path):
    """Every air_station level has a map symbol and no symbol is for a level the layer cannot hold."""
    raw = farm_vocabulary()
    assert set(raw["air_station_levels"]) == set(raw["kinds"]["air_station"]["attributes"]["level"]["values"])
    raw["air_station_levels"].pop("微站")
    path = write_yaml(tmp_path / "air_levels.yaml", raw)
    with pytest.raises(ConfigError) as info:
        make_app(VOCABULARY=str(path))
    assert info.value.field == "air_station_levels"
