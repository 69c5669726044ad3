"""Import rules for official layers: field synonyms and allowed values from data/vocabulary.yaml,
rollback confined to its own district, and a site outside the chosen district."""
import io
import json
import re

import shapely
from shapely.geometry import box, mapping, shape

from conftest import ROOT, admin_client, csrf_token

OFFICIAL = ROOT / "tests" / "data" / "official_redline_dazu_gk35_gbk.zip"
# two small squares inside 大足区 (500111), lon/lat CGCS2000
SQUARE_1 = box(105.700, 29.600, 105.706, 29.606)
SQUARE_2 = box(105.710, 29.600, 105.716, 29.606)


def water_zones_geojson(zone_values) -> bytes:
    """A water-source-zone layer as a surveyor would send it: pinyin-initial field names."""
    features = [{"type": "Feature", "geometry": mapping(geom),
                 "properties": {"BHQMC": f"测试水库{zone}", "SYDMC": "测试水库", "BHQJB": zone, "SYLX": "湖库"}}
                for geom, zone in zip((SQUARE_1, SQUARE_2), zone_values)]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode()


def upload(client, data: bytes, name="zones.geojson", district="500111", kind="water_source_zone"):
    return client.post("/admin/import", data={"file": (io.BytesIO(data), name), "district": district, "kind": kind,
                                              "csrf_token": csrf_token(client, "/admin/")})


def selected(page: str, attr: str) -> str | None:
    """The source field the review form has selected for an attribute."""
    select = re.search(rf'<select name="map_{attr}">(.*?)</select>', page, re.DOTALL).group(1)
    found = re.search(r'<option value="([^"]*)" selected>', select)
    return found.group(1) if found else None


def test_synonym_fields_are_mapped_and_aliases_accepted(make_app):
    app = make_app()
    client = admin_client(app)
    resp = upload(client, water_zones_geojson(["一级", "二级保护区"]))
    assert resp.status_code == 303
    review_url = resp.headers["Location"]
    page = client.get(review_url).get_data(as_text=True)
    # by hand from data/vocabulary.yaml: bhqmc comes before sydmc among the name synonyms; sydmc is a
    # source_name synonym, bhqjb a zone synonym, sylx a water_body synonym (case ignored)
    mapping_shown = {attr: selected(page, attr) for attr in ("name", "source_name", "zone", "water_body", "scale", "method")}
    assert mapping_shown == {"name": "BHQMC", "source_name": "SYDMC", "zone": "BHQJB", "water_body": "SYLX", "scale": None, "method": None}
    assert "校验通过" in page and "取值不在" not in page  # 一级 is an alias of 一级保护区

    token = review_url.rsplit("/", 1)[1]
    # two small squares replace the demo zones: the area change needs the confirmation the report names
    confirm = re.search(r'name="confirm_change" value="([^"]+)"', page).group(1)
    resp = client.post(f"/admin/imports/{token}/publish", data={"csrf_token": csrf_token(client, "/admin/"), "confirm_change": confirm,
                                                                **{f"map_{k}": v or "" for k, v in mapping_shown.items()}})
    assert resp.status_code == 303
    history = app.extensions["services"].repository.history()
    assert [(v["adcode"], v["kind"], v["current"]) for v in history] == [("500111", "water_source_zone", True)]
    fc = client.get("/api/districts/500111/layers/water_source_zone").get_json()
    props = sorted((f["properties"] for f in fc["features"]), key=lambda p: p["name"])
    # the alias is stored as the canonical value; the names come from BHQMC, not SYDMC
    assert [(p["name"], p["zone"], p["source_name"], p["water_body"]) for p in props] == [
        ("测试水库一级", "一级保护区", "测试水库", "湖库"), ("测试水库二级保护区", "二级保护区", "测试水库", "湖库")]


def test_a_value_outside_the_allowed_list_blocks_publishing(make_app, tmp_path):
    app = make_app()
    client = admin_client(app)
    review_url = upload(client, water_zones_geojson(["一级保护区", "三级保护区"])).headers["Location"]
    page = client.get(review_url).get_data(as_text=True)
    assert "校验通过" not in page and "三级保护区" in page and "取值不在" in page
    assert re.search(r'<button type="submit" formaction="[^"]*publish"\s+disabled', page)
    token = review_url.rsplit("/", 1)[1]
    resp = client.post(f"/admin/imports/{token}/publish", data={"csrf_token": csrf_token(client, "/admin/"), "map_zone": "BHQJB"})
    assert resp.status_code == 400 and "三级保护区" in resp.get_data(as_text=True)
    repo = app.extensions["services"].repository
    assert repo.history() == [] and repo.current_versions() == {}

    # the same file from the shell is refused as well
    path = tmp_path / "zones.geojson"
    path.write_bytes(water_zones_geojson(["一级保护区", "三级保护区"]))
    result = app.test_cli_runner().invoke(args=["layers", "publish", str(path), "--district", "500111", "--kind", "water_source_zone", "--yes"])
    assert result.exit_code != 0 and "三级保护区" in result.output
    assert repo.history() == []
    # and the served layer is still the demo one
    fc = client.get("/api/districts/500111/layers/water_source_zone").get_json()
    assert {f["properties"]["is_demo"] for f in fc["features"]} == {True}


def test_rollback_to_another_districts_version_is_refused(make_app):
    app = make_app()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["layers", "publish", str(OFFICIAL), "--district", "500111", "--kind", "redline", "--yes", "--confirm-change"])
    assert result.exit_code == 0, result.output
    repo = app.extensions["services"].repository
    (version,) = repo.history()
    assert (version["adcode"], version["kind"]) == ("500111", "redline")
    manifest = repo.manifest()

    client = admin_client(app)
    resp = client.post("/admin/rollback", data={"district": "500110", "kind": "redline", "version": version["id"],
                                                "csrf_token": csrf_token(client, "/admin/")})
    assert resp.status_code == 404
    result = runner.invoke(args=["layers", "rollback", "--district", "500110", "--kind", "redline", "--to", version["id"]])
    assert result.exit_code != 0
    assert repo.manifest() == manifest
    assert repo.current_versions() == {"500111/redline": version["id"]}
    assert [e["action"] for e in app.extensions["services"].audit.entries() if e["action"] == "rollback"] == []
    # 綦江 still serves its demo red line
    fc = client.get("/api/districts/500110/layers/redline").get_json()
    assert {f["properties"]["is_demo"] for f in fc["features"]} == {True}


def test_a_site_outside_the_chosen_district_is_refused(client):
    site = box(105.705, 29.605, 105.715, 29.615)  # in 大足区
    qijiang = shapely.union_all([shape(f["geometry"]) for f in client.get("/api/districts/500110/layers/district").get_json()["features"]])
    dazu = shapely.union_all([shape(f["geometry"]) for f in client.get("/api/districts/500111/layers/district").get_json()["features"]])
    assert not site.intersects(qijiang) and site.within(dazu)  # the expectation, from the boundaries alone

    resp = client.post("/api/screen", json={"geometry": mapping(site), "district": "500110"})
    assert resp.status_code == 400
    body = resp.get_json()
    assert body["status"] == 400 and "不在所选区县" in body["error"] and "綦江区" in body["error"]
    assert client.post("/api/screen", json={"geometry": mapping(site), "district": "500111"}).status_code == 200


def test_a_layer_that_would_lose_a_feature_is_refused_whole(make_app):
    """Screening lists the parts of a file it cannot read and goes on; an official layer may not
    be published short of a feature, so the import refuses the file and names the feature."""
    app = make_app()
    client = admin_client(app)
    fc = json.loads(water_zones_geojson(["一级", "二级"]))
    fc["features"].append({"type": "Feature", "geometry": None, "properties": {"BHQMC": "无几何的图斑", "BHQJB": "一级"}})
    resp = upload(client, json.dumps(fc, ensure_ascii=False).encode())
    assert resp.status_code == 400
    assert "第 3 个要素" in resp.get_data(as_text=True)
    assert app.extensions["services"].repository.history() == []


def test_a_publish_reviewed_against_an_outdated_version_is_refused(make_app):
    """Two administrators review against the same version; the second publish is refused, nothing written."""
    app = make_app()
    first, second = admin_client(app, "admin_one"), admin_client(app, "admin_two")
    pages = []
    for client in (first, second):
        with open(OFFICIAL, "rb") as fh:
            staged = client.post("/admin/import", data={"file": (fh, OFFICIAL.name), "district": "500111", "kind": "redline",
                                                        "csrf_token": csrf_token(client, "/admin/")})
        path = staged.headers["Location"]
        page = client.get(path).get_data(as_text=True)
        replaces = re.search(r'name="replaces" value="([^"]+)"', page).group(1)
        code = re.search(r'name="confirm_change" value="([^"]+)"', page)
        pages.append((client, path, replaces, code.group(1) if code else ""))
    assert pages[0][2] == pages[1][2] and pages[0][2].startswith("demo")  # both reviewed against the shipped layer
    for n, (client, path, replaces, code) in enumerate(pages):
        resp = client.post(path + "/publish", data={"csrf_token": csrf_token(client, path), "replaces": replaces, "confirm_change": code})
        if n == 0:
            assert resp.status_code == 303
        else:
            assert resp.status_code == 409 and "已更新为 v0001" in resp.get_data(as_text=True)
    repo = app.extensions["services"].repository
    assert [v["id"] for v in repo.history()] == ["v0001"]
    assert [e["username"] for e in app.extensions["services"].audit.entries() if e["action"] == "publish"] == ["admin_one"]
