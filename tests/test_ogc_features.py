"""OGC API – Features at /ogcapi, checked three ways: contract tests from the standards'
requirement lists (Part 1 Core, Part 2 CRS, Part 3 queryables), real clients over HTTP (GDAL's
OAPIF driver inside the pyogrio wheel, OWSLib), and figures computed independently (features
read from data/demo.gpkg with pyogrio, coordinates transformed with pyproj, the layer API).
"""
import json
import re
import urllib.request

import numpy as np
import pyogrio

from geo.uploads import GDAL_NETWORK_OFF
import pytest
import shapely
from openapi_spec_validator import validate
from pyproj import Transformer

from conftest import ROOT, Worker

DEMO = ROOT / "data" / "demo.gpkg"
OFFICIAL = ROOT / "tests" / "data" / "official_redline_dazu_gk35_gbk.zip"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
README = (ROOT / "README.md").read_text(encoding="utf-8")


def demo(kind):
    return pyogrio.read_dataframe(DEMO, layer=kind)


def get(client, url, **kw):
    resp = client.get(url, **kw)
    return resp, (resp.get_json(force=True, silent=True) if resp.status_code != 304 else None)


def all_pages(client, url):
    """Every feature of a query, following next links (the hrefs the server gave)."""
    features, pages = [], 0
    while url:
        resp, body = get(client, url.replace("http://localhost", ""))
        assert resp.status_code == 200, body
        features += body["features"]
        pages += 1
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    return features, pages


# ---------------------------------------------------------------------------------------------- landing, conformance, API


def test_landing_page_links_resolve(client):
    resp, body = get(client, "/ogcapi")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    rels = {link["rel"]: link for link in body["links"]}
    for rel in ("self", "alternate", "service-desc", "service-doc", "conformance", "data"):
        assert rel in rels, rel
    assert rels["service-desc"]["type"].startswith("application/vnd.oai.openapi+json")
    for link in body["links"]:
        assert client.get(link["href"].replace("http://localhost", "")).status_code == 200, link


def test_conformance_declares_the_classes_implemented(client):
    body = client.get("/ogcapi/conformance").get_json()
    for cls in ("ogcapi-features-1/1.0/conf/core", "ogcapi-features-1/1.0/conf/geojson", "ogcapi-features-1/1.0/conf/oas30",
                "ogcapi-features-1/1.0/conf/html", "ogcapi-features-2/1.0/conf/crs", "ogcapi-features-3/1.0/conf/queryables"):
        assert f"http://www.opengis.net/spec/{cls}" in body["conformsTo"]


def test_api_definition_is_valid_openapi_and_names_every_collection(app, client):
    resp, doc = get(client, "/ogcapi/api")
    assert resp.mimetype == "application/vnd.oai.openapi+json"
    validate(doc)  # raises on an invalid OpenAPI 3.0 document
    for key, kind in app.extensions["services"].vocab.kinds.items():
        items = doc["paths"][f"/ogcapi/collections/{key}/items"]["get"]
        names = {p.get("name") or p["$ref"].rsplit("/", 1)[1] for p in items["parameters"]}
        assert {"bbox", "limit", "crs", "adcode"} <= names
    limit = doc["components"]["parameters"]["limit"]["schema"]
    assert (limit["minimum"], limit["maximum"], limit["default"]) == (1, 10000, 100)


# ---------------------------------------------------------------------------------------------- collections


def test_one_collection_per_vocabulary_kind_with_versions_and_demo_status(app, client):
    kinds = list(app.extensions["services"].vocab.kinds)
    body = client.get("/ogcapi/collections").get_json()
    assert [c["id"] for c in body["collections"]] == kinds
    for c in body["collections"]:
        assert c["title"] == app.extensions["services"].vocab.kinds[c["id"]].name_zh
        assert c["crs"][0] == CRS84 and c["storageCrs"] in c["crs"]
        assert c["is_demo"] is True and c["data_status"] == "示意数据"
        assert set(c["published_versions"]) >= {"500111", "500110"}
        assert all(v.startswith("demo:") for v in c["published_versions"].values())
        frame = demo(c["id"])
        assert c["extent"]["spatial"]["bbox"][0] == pytest.approx(list(frame.total_bounds), abs=1e-6)
        assert {"items", "queryables"} <= {link["rel"].rsplit("/", 1)[-1] for link in c["links"]}
    resp = client.get("/ogcapi/collections/nosuch")
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json"
    assert resp.get_json()["title"].startswith("没有这个要素集合")


def test_queryables_are_the_kind_attributes(client):
    body = client.get("/ogcapi/collections/water_source_zone/queryables").get_json()
    assert body["type"] == "object" and "adcode" in body["properties"]
    assert body["properties"]["zone"]["enum"] == ["一级保护区", "二级保护区", "准保护区"]
    assert body["properties"]["zone"]["title"] == "保护区级别"


# ---------------------------------------------------------------------------------------------- items


def test_items_are_the_layer_api_features_of_every_district(client):
    for kind in ("district", "redline", "water_source_zone", "protected_area", "monitoring_section"):
        features, _ = all_pages(client, f"/ogcapi/collections/{kind}/items?limit=10000")
        frame = demo(kind)
        assert len(features) == len(frame)
        by_id = {f["id"]: f for f in features}
        for adcode in sorted(set(frame["adcode"])):
            layer = client.get(f"/api/districts/{adcode}/layers/{kind}").get_json()
            for f in layer["features"]:
                mine = by_id[f["id"]]
                assert mine["geometry"] == f["geometry"]
                assert {k: v for k, v in mine["properties"].items() if k != "layer_version"} == f["properties"]


def test_paging_with_next_links_returns_every_feature_once(client):
    features, pages = all_pages(client, "/ogcapi/collections/water_source_zone/items?limit=7")
    ids = [f["id"] for f in features]
    assert len(ids) == len(set(ids)) == len(demo("water_source_zone"))
    assert pages == -(-len(ids) // 7)
    resp, body = get(client, "/ogcapi/collections/water_source_zone/items?limit=7&offset=14")
    assert body["numberReturned"] == 7 and body["numberMatched"] == len(ids)
    assert [f["id"] for f in body["features"]] == ids[14:21]
    assert {"self", "alternate", "next", "prev"} <= {link["rel"] for link in body["links"]}
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", body["timeStamp"])


def test_limit_bounds(client):
    frame = demo("water_source_zone")
    _, body = get(client, "/ogcapi/collections/water_source_zone/items")
    assert body["numberReturned"] == min(100, len(frame))  # the default page
    _, body = get(client, "/ogcapi/collections/water_source_zone/items?limit=20000")  # above the maximum: the maximum, not an error
    assert body["numberReturned"] == len(frame)
    for bad in ("0", "-3", "abc", "1.5"):
        resp = client.get(f"/ogcapi/collections/water_source_zone/items?limit={bad}")
        assert resp.status_code == 400, bad
        assert resp.get_json()["type"].endswith("invalid-parameter-value")
    assert client.get("/ogcapi/collections/water_source_zone/items?offset=-1").status_code == 400


def test_bbox_selects_what_intersects_it(client):
    frame = demo("water_source_zone")
    box = (105.6, 29.55, 105.9, 29.8)
    expected = set(frame.loc[shapely.intersects(frame.geometry.values, shapely.box(*box)), "feature_id"])
    assert expected and len(expected) < len(frame)
    _, body = get(client, "/ogcapi/collections/water_source_zone/items?limit=10000&bbox=" + ",".join(map(str, box)))
    assert {f["id"] for f in body["features"]} == expected and body["numberMatched"] == len(expected)
    # six numbers (with heights), and the same box in EPSG:4490 axis order (lat, lon) through bbox-crs
    _, six = get(client, "/ogcapi/collections/water_source_zone/items?limit=10000&bbox=105.6,29.55,0,105.9,29.8,100")
    assert {f["id"] for f in six["features"]} == expected
    _, swapped = get(client, f"/ogcapi/collections/water_source_zone/items?limit=10000&bbox=29.55,105.6,29.8,105.9&bbox-crs={EPSG}4490")
    assert {f["id"] for f in swapped["features"]} == expected
    # a Gauss-Krüger box around the same area (X north, Y east) contains at least those features
    t = Transformer.from_crs(4490, 4523, always_xy=True)
    e0, n0 = t.transform(box[0], box[1])
    e1, n1 = t.transform(box[2], box[3])
    _, gk = get(client, f"/ogcapi/collections/water_source_zone/items?limit=10000&bbox={min(n0, n1) - 2000},{min(e0, e1) - 2000},"
                        f"{max(n0, n1) + 2000},{max(e0, e1) + 2000}&bbox-crs={EPSG}4523")
    assert expected <= {f["id"] for f in gk["features"]}
    for bad in ("1,2,3", "1,2,3,4,5", "a,b,c,d", "105,95,106,96", "105,30,106,29", "nan,1,2,3"):
        resp = client.get(f"/ogcapi/collections/water_source_zone/items?bbox={bad}")
        assert resp.status_code == 400, bad
        assert "bbox" in resp.get_json()["title"]


def test_property_filters_on_queryables(client):
    frame = demo("water_source_zone")
    expected = frame[(frame["adcode"] == "500111") & (frame["zone"] == "一级保护区")]
    _, body = get(client, "/ogcapi/collections/water_source_zone/items?adcode=500111&zone=一级保护区&limit=10000")
    assert sorted(f["id"] for f in body["features"]) == sorted(expected["feature_id"]) and len(expected)
    resp = client.get("/ogcapi/collections/water_source_zone/items?colour=red")
    assert resp.status_code == 400 and resp.get_json()["details"]["unknown_parameters"] == ["colour"]
    assert client.get("/ogcapi/collections/water_source_zone/items?datetime=2025-01-01T00:00:00Z").status_code == 200
    assert client.get("/ogcapi/collections/water_source_zone/items?datetime=yesterday").status_code == 400


def test_crs_parameter_gives_authority_axis_order(client):
    """Part 2: EPSG:4490 coordinates are latitude, longitude; a Gauss-Krüger zone is X (north), Y (east)."""
    fid = "500111-redline-001"
    resp, plain = get(client, f"/ogcapi/collections/redline/items/{fid}")
    assert resp.headers["Content-Crs"] == f"<{CRS84}>"
    lonlat = np.array(shapely.geometry.shape(plain["geometry"]).exterior.coords if plain["geometry"]["type"] == "Polygon"
                      else shapely.geometry.shape(plain["geometry"]).geoms[0].exterior.coords)
    resp, geo = get(client, f"/ogcapi/collections/redline/items/{fid}?crs={EPSG}4490")
    assert resp.headers["Content-Crs"] == f"<{EPSG}4490>"
    first = np.array(geo["geometry"]["coordinates"][0][0] if geo["geometry"]["type"] == "MultiPolygon" else geo["geometry"]["coordinates"][0])
    assert np.allclose(first[:, ::-1], lonlat, atol=1e-9)
    resp, gk = get(client, f"/ogcapi/collections/redline/items/{fid}?crs={EPSG}4523")
    gk_first = np.array(gk["geometry"]["coordinates"][0][0] if gk["geometry"]["type"] == "MultiPolygon" else gk["geometry"]["coordinates"][0])
    east, north = Transformer.from_crs(4490, 4523, always_xy=True).transform(lonlat[:, 0], lonlat[:, 1])
    assert np.allclose(gk_first[:, 0], north, atol=1e-3) and np.allclose(gk_first[:, 1], east, atol=1e-3)
    assert 35_000_000 < gk_first[0, 1] < 36_000_000  # the easting carries the zone number 35
    assert client.get(f"/ogcapi/collections/redline/items?crs={EPSG}3857").status_code == 400
    assert client.get(f"/ogcapi/collections/redline/items?bbox-crs={EPSG}4490").status_code == 400  # bbox-crs without bbox


def test_unknown_feature_is_404(client):
    resp = client.get("/ogcapi/collections/redline/items/no-such-feature")
    assert resp.status_code == 404 and resp.get_json()["status"] == 404


# ---------------------------------------------------------------------------------------------- versions


def test_items_follow_the_published_version_and_the_etag_changes(make_app):
    app = make_app()
    client = app.test_client()
    resp = client.get("/ogcapi/collections/redline/items?adcode=500111&limit=10000")
    etag = resp.headers["ETag"]
    assert client.get("/ogcapi/collections/redline/items?adcode=500111&limit=10000", headers={"If-None-Match": etag}).status_code == 304
    before = {f["id"] for f in resp.get_json()["features"]}
    result = app.test_cli_runner().invoke(args=["layers", "publish", str(OFFICIAL), "--district", "500111", "--kind", "redline", "--yes",
                                                "--confirm-change"])
    assert result.exit_code == 0, result.output
    resp = client.get("/ogcapi/collections/redline/items?adcode=500111&limit=10000", headers={"If-None-Match": etag})
    assert resp.status_code == 200 and resp.headers["ETag"] != etag
    after = resp.get_json()["features"]
    official = pyogrio.read_dataframe(f"/vsizip/{OFFICIAL}")
    assert len(after) == len(official) and not before & {f["id"] for f in after}
    assert {f["properties"]["layer_version"] for f in after} == {"v0001"}
    meta = client.get("/ogcapi/collections/redline").get_json()
    assert meta["published_versions"]["500111"] == "v0001" and "500111" in meta["official_districts"]
    assert meta["data_status"] == "部分示意数据"


# ---------------------------------------------------------------------------------------------- HTML


@pytest.mark.parametrize("path", ["/ogcapi", "/ogcapi/conformance", "/ogcapi/api", "/ogcapi/collections", "/ogcapi/collections/redline",
                                  "/ogcapi/collections/redline/queryables", "/ogcapi/collections/water_source_zone/items?limit=5",
                                  "/ogcapi/collections/redline/items/500111-redline-001"])
def test_html_pages_are_chinese_and_offline(client, path):
    resp = client.get(path, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    assert 'lang="zh-CN"' in html and re.search(r"[\u4e00-\u9fff]", html)
    assert not re.search(r'<(script|link)[^>]+(src|href)="(https?:)?//', html)  # no CDN
    assert client.get(path + ("&" if "?" in path else "?") + "f=json").mimetype != "text/html"


# ---------------------------------------------------------------------------------------------- real clients over HTTP


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    worker = Worker(tmp_path_factory.mktemp("ogc-server"))
    yield worker
    worker.stop()


@pytest.fixture
def gdal_http_patience():
    """The app turns GDAL's network off for uploads (1 s timeout, geo/uploads.py); this client test reads a real
    server on a loaded 2-core machine, so it gets GDAL's usual patience while it runs."""
    pyogrio.set_gdal_config_options({"GDAL_HTTP_TIMEOUT": "30"})
    yield
    pyogrio.set_gdal_config_options({"GDAL_HTTP_TIMEOUT": GDAL_NETWORK_OFF["GDAL_HTTP_TIMEOUT"]})


def test_gdal_oapif_reads_every_collection(server, gdal_http_patience):
    url = f"OAPIF:{server.url}/ogcapi"
    kinds = ["district", "redline", "water_source_zone", "protected_area", "control_unit", "monitoring_section", "air_station"]
    assert [name for name, _ in pyogrio.list_layers(url)] == kinds
    for kind in kinds:
        read = pyogrio.read_dataframe(url, layer=kind, PAGE_SIZE=10)  # several pages through next links
        frame = demo(kind)
        assert len(read) == len(frame) and read.crs.to_epsg() == 4490
        read = read.set_index("feature_id").loc[frame["feature_id"]]
        assert shapely.equals_exact(read.geometry.values, frame.geometry.values, tolerance=1e-9).all()
    # bbox (GDAL sends it as the bbox parameter) and a Gauss-Krüger output CRS
    box = (105.6, 29.55, 105.9, 29.8)
    frame = demo("water_source_zone")
    expected = set(frame.loc[shapely.intersects(frame.geometry.values, shapely.box(*box)), "feature_id"])
    assert set(pyogrio.read_dataframe(url, layer="water_source_zone", bbox=box)["feature_id"]) == expected
    gk = pyogrio.read_dataframe(url, layer="redline", CRS="EPSG:4523", where="adcode = '500111'")
    assert gk.crs.to_epsg() == 4523
    t = Transformer.from_crs(4490, 4523, always_xy=True)
    mine = demo("redline").query("adcode == '500111'").set_index("feature_id").loc[gk["feature_id"]]
    projected = shapely.transform(mine.geometry.values, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
    assert shapely.equals_exact(gk.geometry.values, projected, tolerance=1e-3).all()


def test_owslib_lists_collections_and_pages_items(server):
    from owslib.ogcapi.features import Features

    api = Features(f"{server.url}/ogcapi")
    ids = [c["id"] for c in api.collections()["collections"]]
    assert "redline" in ids and "water_source_zone" in ids
    assert api.collection("redline")["title"] == "生态保护红线"
    seen, offset = [], 0
    while True:
        page = api.collection_items("water_source_zone", limit=25, offset=offset)
        seen += [f["id"] for f in page["features"]]
        if not any(link["rel"] == "next" for link in page["links"]):
            break
        offset += 25
    assert sorted(seen) == sorted(demo("water_source_zone")["feature_id"])
    assert "zone" in api.collection_queryables("water_source_zone")["properties"]


def test_the_readme_owslib_example_runs(server, capsys):
    block = re.search(r"```python\n(from owslib.ogcapi.features.*?)```", README, re.S)
    assert block, "README has no OWSLib example"
    code = block.group(1).replace("http://127.0.0.1:5000", server.url)
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "生态保护红线" in out


def test_every_page_answers_over_http(server):
    with urllib.request.urlopen(f"{server.url}/ogcapi/collections?f=json", timeout=30) as resp:
        body = json.loads(resp.read())
    for c in body["collections"]:
        for link in c["links"]:
            with urllib.request.urlopen(link["href"], timeout=30) as r:
                assert r.status == 200


def test_collection_fields_are_documented(client):
    standard = {"id", "title", "description", "itemType", "links", "extent", "crs", "storageCrs"}
    for field in set(client.get("/ogcapi/collections/redline").get_json()) - standard:
        assert f"`{field}`" in README, f"collection field {field} is not documented in README.md"


def test_every_area_says_how_it_was_measured(client):
    items = client.get("/ogcapi/collections/redline/items?limit=3").get_json()
    assert "椭球" in items["area_method"] and all("area_km2" in f["properties"] for f in items["features"])
    one = client.get("/ogcapi/collections/redline/items/500111-redline-001").get_json()
    assert one["area_method"] == items["area_method"]
    assert client.get("/ogcapi/collections/redline").get_json()["area_method"] == items["area_method"]
    assert client.get("/ogcapi/collections/monitoring_section").get_json()["area_method"] is None  # points have no area
