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
                                                                "map_function": "GNLX"})
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
    result = runner.invoke(args=["layers", "publish", str(OFFICIAL), "--district", "500111", "--kind", "redline", "--yes"])
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
