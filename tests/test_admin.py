"""Loading official data: import → validation report → publish → screen → roll back → audit."""
import csv
import io
import re

import pytest
from pyproj import Geod

from conftest import ROOT, admin_client, csrf_token, login

DATA = ROOT / "tests" / "data"
OFFICIAL = DATA / "official_redline_dazu_gk35_gbk.zip"
GEOD = Geod(ellps="GRS80")


def screen_site(client):
    with open(DATA / "site_dazu_jzd.txt", "rb") as fh:
        return client.post("/api/screen", data={"file": (fh, "site.txt")}).get_json()


def confirm_code(page: str) -> str:
    """The value of the review form's confirmation checkbox (present when the report names changes)."""
    return re.search(r'name="confirm_change" value="([^"]+)"', page).group(1)


def upload(client, path=OFFICIAL, district="500111", kind="redline"):
    with open(path, "rb") as fh:
        return client.post("/admin/import", data={"file": (fh, path.name), "district": district, "kind": kind,
                                                   "csrf_token": csrf_token(client, "/admin/")})


def test_admin_pages_need_an_administrator(make_app):
    app = make_app()
    client = app.test_client()
    assert client.get("/admin/").status_code == 302  # to the login page
    app.extensions["services"].accounts.create("reviewer1", "reviewer password", "reviewer")
    login(client, "reviewer1", "reviewer password")
    assert client.get("/admin/").status_code == 403
    assert login(app.test_client(), "reviewer1", "wrong password!").status_code == 401


def test_passwords_are_hashed_and_cookies_hardened(make_app, tmp_path):
    app = make_app()
    client = admin_client(app)
    (stored,), = app.extensions["services"].accounts.db.execute("SELECT password_hash FROM users WHERE username = 'admin_test'")
    assert stored.startswith("scrypt:") and "correct horse battery" not in stored
    resp = app.test_client().post("/login", data={"username": "admin_test", "password": "correct horse battery",
                                                  "csrf_token": csrf_token(app.test_client(), "/login")})
    assert resp.status_code == 400  # token from another session: CSRF refuses it
    cookie = client.post("/login", data={"username": "admin_test", "password": "correct horse battery",
                                         "csrf_token": csrf_token(client)}).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    csp = client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in csp and "unsafe-eval" not in csp and "unsafe-inline" not in csp.split("style-src")[0]


def test_form_without_csrf_token_is_refused(make_app):
    client = admin_client(make_app())
    with open(OFFICIAL, "rb") as fh:
        resp = client.post("/admin/import", data={"file": (fh, OFFICIAL.name), "district": "500111", "kind": "redline"})
    assert resp.status_code == 400 and "CSRF" in resp.get_data(as_text=True)


def test_import_publish_screen_rollback_audit(make_app):
    app = make_app()
    client = admin_client(app)
    demo = screen_site(client)
    demo_red = next(layer for layer in demo["layers"] if layer["kind"] == "redline")
    assert demo_red["status"] == "示意数据"

    resp = upload(client)
    assert resp.status_code == 303
    review_url = resp.headers["Location"]
    page = client.get(review_url).get_data(as_text=True)
    assert "EPSG:4523" in page  # CGCS2000 GK zone 35, read from the .prj
    assert "已修复的无效几何</th><td>1 个" in page  # the bow-tie
    assert re.search(r'name="map_name">.*?<option value="BHMC" selected>', page, re.S)  # BHMC → name, mapped automatically
    assert "校验通过" in page

    token = review_url.rsplit("/", 1)[1]
    resp = client.post(f"/admin/imports/{token}/publish", data={"csrf_token": csrf_token(client, "/admin/"), "map_name": "BHMC",
                                                                "map_function": "GNLX", "confirm_change": confirm_code(page)})
    assert resp.status_code == 303
    history = app.extensions["services"].repository.history("500111", "redline")
    assert history[0]["current"] and history[0]["created_by"] == "admin_test"
    vid = history[0]["id"]

    official = screen_site(client)
    red = next(layer for layer in official["layers"] if layer["kind"] == "redline")
    assert red["status"] == "正式数据"
    assert official["method"]["data"]["layer_versions"]["500111/redline"] == vid
    assert [h["name"] for h in red["hits"] if h["relation"] != "near"] == ["大足区生态保护红线（正式）甲"]
    assert red["total_overlap_pct_of_site"] == pytest.approx(100.0, abs=0.01)  # the official polygon covers the site
    fc = client.get("/api/districts/500111/layers/redline").get_json()
    assert {f["properties"]["is_demo"] for f in fc["features"]} == {False}
    assert "示意" not in client.get("/api/districts/500111/layers/redline").get_data(as_text=True)

    resp = client.post("/admin/rollback", data={"district": "500111", "kind": "redline", "version": "demo",
                                                "csrf_token": csrf_token(client, "/admin/")})
    assert resp.status_code == 303
    back = screen_site(client)
    back_red = next(layer for layer in back["layers"] if layer["kind"] == "redline")
    assert back_red["total_overlap_m2"] == pytest.approx(demo_red["total_overlap_m2"], rel=1e-9)
    assert back["method"]["data"]["layer_versions"]["500111/redline"].startswith("demo")

    rows = list(csv.DictReader(io.StringIO(client.get("/admin/audit.csv").get_data(as_text=True).lstrip("\ufeff"))))
    screens = [r for r in rows if r["action"] == "screen"]
    assert len(screens) == 3 and len({r["input_sha256"] for r in screens}) == 1
    assert vid in screens[1]["versions"] and "demo" in screens[2]["versions"]
    assert [r["action"] for r in rows if r["action"] in ("publish", "rollback")] == ["publish", "rollback"]
    # the earlier version stays and can be made current again
    app.extensions["services"].repository.rollback("500111", "redline", vid)
    app.extensions["services"].live.reload()
    assert screen_site(client)["method"]["data"]["layer_versions"]["500111/redline"] == vid


def test_publish_is_refused_when_required_fields_are_missing(make_app):
    app = make_app()
    client = admin_client(app)
    review_url = upload(client, kind="protected_area").headers["Location"]
    page = client.get(review_url).get_data(as_text=True)
    assert "必需字段未映射：pa_type" in page
    token = review_url.rsplit("/", 1)[1]
    resp = client.post(f"/admin/imports/{token}/publish", data={"csrf_token": csrf_token(client, "/admin/"), "map_name": "BHMC"})
    assert resp.status_code == 400 and app.extensions["services"].repository.history() == []


def test_cli_users_and_layers(make_app):
    app = make_app()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["users", "create", "chief", "--role", "admin", "--password", "long enough pw"]).exit_code == 0
    assert runner.invoke(args=["users", "create", "x", "--password", "short"]).exit_code != 0
    result = runner.invoke(args=["layers", "publish", str(OFFICIAL), "--district", "500111", "--kind", "redline", "--yes", "--confirm-change"])
    assert result.exit_code == 0, result.output
    assert "EPSG:4523" in result.output and "已发布 v0001" in result.output
    assert runner.invoke(args=["layers", "rollback", "--district", "500111", "--kind", "redline", "--to", "demo"]).exit_code == 0
    assert "v0001" in runner.invoke(args=["layers", "history"]).output


def test_screening_is_rate_limited(make_app):
    client = make_app(RATE_LIMIT_PER_MINUTE=2).test_client()
    point = {"geometry": {"type": "Point", "coordinates": [105.7, 29.6]}}
    assert [client.post("/api/screen", json=point).status_code for _ in range(3)] == [200, 200, 429]
    assert "请求过于频繁" in client.post("/api/screen", json=point).get_json()["error"]


def test_cli_reports_are_audited(make_app):
    app = make_app()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["shares", "--district", "500111"]).exit_code == 0
    assert runner.invoke(args=["sections", "report", "--district", "500111"]).exit_code == 0
    assert runner.invoke(args=["screen", str(DATA / "site_dazu_jzd.txt")]).exit_code == 0
    entries = app.extensions["services"].audit.entries()
    assert [e["action"] for e in entries[:3]] == ["screen", "sections", "shares"]
    assert entries[0]["username"].startswith("cli:") and entries[0]["input_sha256"]
    assert entries[2]["versions"]["500111/redline"].startswith("demo:")


@pytest.mark.parametrize("target", ["//evil.com", "/\t/evil.com", "/%09/evil.com", "https://evil.com", "/\\evil.com", "javascript:alert(1)"])
def test_login_redirect_stays_on_site(target):
    from web.security import safe_next

    assert safe_next("/admin/audit") == "/admin/audit"
    result = safe_next(target)
    assert result is None or (result.startswith("/") and not result.startswith("//") and "evil.com" not in result.split("/")[1])


# ------------------------------------------------------------------ issue 9: publishing compares and confirms

def _geod_km2(geom) -> float:
    """Ellipsoidal area (km²) with pyproj.Geod, polygon by polygon, independently of geo.area."""
    import shapely

    polys = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type == "Polygon"]
    return sum(abs(GEOD.geometry_area_perimeter(shapely.orient_polygons(p))[0]) for p in polys) / 1e6


def _demo_redline_km2(adcode="500111") -> float:
    import pyogrio
    import shapely

    demo = pyogrio.read_dataframe(ROOT / "data" / "demo.gpkg", layer="redline")
    return _geod_km2(shapely.union_all(demo[demo["adcode"].astype(str) == adcode].geometry.values))


def _official_km2() -> float:
    """The sample file's dissolved area: read with geopandas, repaired with make_valid, reprojected by pyproj."""
    import geopandas as gpd
    import numpy as np
    import shapely
    from pyproj import Transformer

    frame = gpd.read_file(f"zip://{OFFICIAL}")
    to_lonlat = Transformer.from_crs(frame.crs, 4490, always_xy=True)
    union = shapely.union_all([shapely.make_valid(g) for g in frame.geometry.values])
    union = shapely.segmentize(union, 5.0)  # follow the plane edges closely on the ellipsoid
    return _geod_km2(shapely.transform(union, lambda xy: np.column_stack(to_lonlat.transform(xy[:, 0], xy[:, 1]))))


def _km2_figures(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"(\d+\.\d{4}) km²", text)]


def test_a_layer_with_a_fortieth_of_the_area_needs_a_named_confirmation(make_app):
    """2.74 km² replacing the 100.27 km² red line of 大足: refused (409) without confirmation, the report naming both
    areas (computed here with pyproj.Geod) and the share against the plan turning 不符合; published with it."""
    old_km2, new_km2 = _demo_redline_km2(), _official_km2()
    assert old_km2 == pytest.approx(100.27, abs=0.01) and 2.6 < new_km2 < 2.8
    change_pct = (new_km2 - old_km2) / old_km2 * 100  # −97.3 %: the new layer has 2.7 % of the old area
    app = make_app()
    client = admin_client(app)
    review_url = upload(client).headers["Location"]
    page = client.get(review_url).get_data(as_text=True)
    assert "与现行版本比较（示意数据）" in page and "与规划比对" in page
    changes = re.findall(r'<li data-change="(\w+)">(.*?)</li>', page)
    assert [k for k, _ in changes] == ["area", "plan_share"]
    old_shown, new_shown = _km2_figures(changes[0][1])
    assert old_shown == pytest.approx(old_km2, abs=2e-4) and new_shown == pytest.approx(new_km2, abs=2e-4)
    assert f"{change_pct:+.1f}%" in changes[0][1] and "±5%" in changes[0][1]
    assert "6.99%" in changes[1][1] and "“符合”" in changes[1][1] and "“不符合”" in changes[1][1]
    # the checkbox names the changes, and the plain re-check button does not need it
    assert re.search(r'<input type="checkbox" name="confirm_change" value="[0-9a-f]{12}" required>\s*我已核对并确认发布这些变化：融合面积由', page)

    token = review_url.rsplit("/", 1)[1]
    form = {"csrf_token": csrf_token(client, "/admin/"), "map_name": "BHMC", "map_function": "GNLX"}
    refused = client.post(f"/admin/imports/{token}/publish", data=form)
    assert refused.status_code == 409
    body = refused.get_data(as_text=True)
    assert "须明确确认" in body and "100.2699 km²" in body and f"{new_km2:.4f}"[:5] in body
    assert client.post(f"/admin/imports/{token}/publish", data={**form, "confirm_change": "0123456789ab"}).status_code == 409
    repo = app.extensions["services"].repository
    assert repo.history() == [] and repo.current_versions() == {}

    done = client.post(f"/admin/imports/{token}/publish", data={**form, "confirm_change": confirm_code(page)})
    assert done.status_code == 303
    assert repo.current_versions() == {"500111/redline": "v0001"}
    dashboard = client.get("/admin/").get_data(as_text=True)
    assert "已发布 大足区 生态保护红线：示意数据 → v0001" in dashboard  # the page says what happened
    publish = next(e for e in app.extensions["services"].audit.entries() if e["action"] == "publish")
    assert "已确认" in publish["summary"] and "替换 示意数据" in publish["summary"]
    # the home badge of 大足's red line is now computed on official data (no 示意 in it); its protected areas still are demo
    home = client.get("/").get_data(as_text=True)
    card = home[home.index('data-adcode="500111"'):]
    card = card[:card.index("</section>")]
    assert re.search(r'data-indicator="redline_share"[^>]*>红线占比：不符合</span>', card)
    assert re.search(r'data-indicator="protected_area_share"[^>]*>保护地占比：符合<span class="badge-demo">示意数据</span>', card)


def test_the_same_layer_again_needs_no_confirmation(make_app):
    """Republishing the file over its own version changes nothing beyond the threshold: no confirmation asked."""
    app = make_app()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["layers", "publish", str(OFFICIAL), "--district", "500111", "--kind", "redline", "--yes"])
    assert first.exit_code != 0 and "--confirm-change" in first.output and app.extensions["services"].repository.history() == []
    assert runner.invoke(args=["layers", "publish", str(OFFICIAL), "--district", "500111", "--kind", "redline", "--yes",
                               "--confirm-change"]).exit_code == 0
    again = runner.invoke(args=["layers", "publish", str(OFFICIAL), "--district", "500111", "--kind", "redline", "--yes"])
    assert again.exit_code == 0, again.output
    assert "面积变化 +0.00%" in again.output and "重大变化" not in again.output and "已发布 v0002" in again.output


def test_rollback_goes_back_and_forward_and_says_so(make_app):
    app = make_app()
    runner = app.test_cli_runner()
    for _ in range(2):  # v0001, v0002 (the same file twice)
        assert runner.invoke(args=["layers", "publish", str(OFFICIAL), "--district", "500111", "--kind", "redline", "--yes",
                                   "--confirm-change"]).exit_code == 0
    repo = app.extensions["services"].repository
    client = admin_client(app)

    def switch(version):
        return client.post("/admin/rollback", data={"district": "500111", "kind": "redline", "version": version,
                                                    "csrf_token": csrf_token(client, "/admin/")})

    page = client.get("/admin/").get_data(as_text=True)
    row = re.search(r'<tr data-layer="500111/redline">(.*?)</tr>', page, re.S).group(1)
    # every kept version has a button, the current one is marked
    assert "回退到 示意数据" in row and "回退到 v0001" in row and "v0002</span>" in row and "当前" in row
    assert switch("v0001").status_code == 303 and repo.current_versions() == {"500111/redline": "v0001"}
    assert "大足区 生态保护红线：v0002 → v0001（回退到较早的版本）" in client.get("/admin/").get_data(as_text=True)
    assert switch("demo").status_code == 303 and repo.current_versions() == {}
    page = client.get("/admin/").get_data(as_text=True)
    assert "v0001 → 示意数据（回退到较早的版本）" in page
    row = re.search(r'<tr data-layer="500111/redline">(.*?)</tr>', page, re.S).group(1)
    assert "前进到 v0001" in row and "前进到 v0002" in row
    # forward, over the web and from the shell
    assert switch("v0002").status_code == 303 and repo.current_versions() == {"500111/redline": "v0002"}
    assert "示意数据 → v0002（前进到较新的版本）" in client.get("/admin/").get_data(as_text=True)
    result = runner.invoke(args=["layers", "rollback", "--district", "500111", "--kind", "redline", "--to", "v0001"])
    assert result.exit_code == 0 and "回退到较早的版本" in result.output
    result = runner.invoke(args=["layers", "rollback", "--district", "500111", "--kind", "redline", "--to", "v0002"])
    assert result.exit_code == 0 and "前进到较新的版本" in result.output
    assert app.extensions["services"].live.get().store.layer_version("500111", "redline") == "v0002"


def test_staging_an_upload_writes_exactly_one_audit_row(make_app):
    import hashlib

    app = make_app()
    client = admin_client(app)
    log = app.extensions["services"].audit
    before = {e["id"] for e in log.entries(limit=1_000_000)}
    review_url = upload(client).headers["Location"]
    client.get(review_url)  # reviewing is not audited
    new = [e for e in log.entries(limit=1_000_000) if e["id"] not in before]
    assert [e["action"] for e in new] == ["stage"]
    (row,) = new
    assert row["username"] == "admin_test" and row["input_sha256"] == hashlib.sha256(OFFICIAL.read_bytes()).hexdigest()
    assert "尚未发布" in row["summary"] and row["versions"]["500111/redline"].startswith("demo")
    assert app.extensions["services"].repository.history() == []


def test_cli_map_items_without_equals_are_refused(make_app):
    app = make_app()
    result = app.test_cli_runner().invoke(args=["layers", "publish", str(OFFICIAL), "--district", "500111", "--kind", "redline",
                                                "--map", "name=BHMC", "--map", "GNLX", "--yes", "--confirm-change"])
    assert result.exit_code != 0
    assert "--map 须写作 属性=源字段" in result.output and "GNLX" in result.output
    assert app.extensions["services"].repository.history() == []
    assert [e["action"] for e in app.extensions["services"].audit.entries()] == []  # refused before anything was staged


def test_layer_imports_have_their_own_larger_limits(make_app, tmp_path):
    """An administrator's layer may exceed the screening upload limit (PUBLISH_MAX_UPLOAD_MB); a site may not, and
    every limit that is hit names the setting that raises it."""
    import json

    import pyogrio

    layer = pyogrio.read_dataframe(f"/vsizip/{OFFICIAL}")
    geojson = tmp_path / "redline.geojson"
    pyogrio.write_dataframe(layer, geojson, driver="GeoJSON")
    body = json.loads(geojson.read_text(encoding="utf-8"))
    big = tmp_path / "redline_big.geojson"
    big.write_text(json.dumps(body, ensure_ascii=False) + " " * (3 * 1024 * 1024), encoding="utf-8")  # 3 MB, still valid JSON
    app = make_app(MAX_UPLOAD_MB=1, PUBLISH_MAX_UPLOAD_MB=5)
    admin = admin_client(app)
    staged = upload(admin, big)
    assert staged.status_code == 303 and "/admin/imports/" in staged.headers["Location"]
    site = app.test_client().post("/api/screen", data={"file": (io.BytesIO(big.read_bytes()), "site.geojson")})
    assert site.status_code == 413 and "MAX_UPLOAD_MB" in site.get_json()["error"]
    anonymous = app.test_client().post("/admin/import", data={"file": (io.BytesIO(big.read_bytes()), big.name)})
    assert anonymous.status_code == 413  # the larger limit is an administrator's only
    few = make_app(PUBLISH_MAX_FEATURES=len(layer) - 1, INSTANCE_DIR=str(tmp_path / "few"))
    refused = upload(admin_client(few), geojson)
    assert refused.status_code == 400 and "PUBLISH_MAX_FEATURES" in refused.get_data(as_text=True)
    many = [{"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [105.7 + i * 1e-4, 29.7]}} for i in range(4)]
    screen = make_app(MAX_FEATURES=3, INSTANCE_DIR=str(tmp_path / "three")).test_client().post(
        "/api/screen", json={"geometry": {"type": "FeatureCollection", "features": many}})
    assert screen.status_code == 400 and "MAX_FEATURES" in screen.get_json()["error"]
