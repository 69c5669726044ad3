"""The audit trail: every audited action writes exactly one row, naming the action, the user and
(where there is an input) the input's SHA-256, computed here with hashlib from the bytes sent.

Each test runs on a fresh app (make_app), so the rows counted are the ones the test caused.
"""
import hashlib
import io
import json
import re

import pytest

from conftest import ROOT, admin_client, csrf_token, login

DATA = ROOT / "tests" / "data"
OFFICIAL = DATA / "official_redline_dazu_gk35_gbk.zip"
SITE_TXT = DATA / "site_dazu_jzd.txt"
ANONYMOUS = "匿名"
DEMO_KINDS = ("district", "redline", "water_source_zone", "protected_area", "control_unit", "monitoring_section", "air_station")
# a small square inside 大足区 (lon, lat, CGCS2000)
DAZU_SQUARE = [[105.705, 29.605], [105.715, 29.605], [105.715, 29.615], [105.705, 29.615], [105.705, 29.605]]
MEASUREMENTS_CSV = "adcode,section,date,DO,NH3-N,TP\n500110,北渡,2026-01-15,7.8,0.4,0.05\n".encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Audit:
    """The rows written since the last look (oldest first)."""

    def __init__(self, app):
        self.log = app.extensions["services"].audit
        self.seen = max((e["id"] for e in self.log.entries(limit=1)), default=0)

    def new(self) -> list[dict]:
        rows = sorted((e for e in self.log.entries(limit=1_000_000) if e["id"] > self.seen), key=lambda e: e["id"])
        if rows:
            self.seen = rows[-1]["id"]
        return rows

    def one(self, action: str) -> dict:
        rows = self.new()
        assert [r["action"] for r in rows] == [action], rows
        return rows[0]


def reviewer_client(app, username="reviewer_li"):
    app.extensions["services"].accounts.create(username, "reviewer password", "reviewer")
    client = app.test_client()
    assert login(client, username, "reviewer password").status_code == 302
    return client


@pytest.fixture()
def cli_user(monkeypatch):
    """The shell account the CLI names (cli:<USER>)."""
    monkeypatch.setenv("USER", "shell_wang")
    return "cli:shell_wang"


# ------------------------------------------------------------------ screening


def test_api_screen_json_is_one_anonymous_row_even_when_logged_in(make_app):
    app = make_app()
    client = admin_client(app)  # logged in, with a session cookie
    audit = Audit(app)
    body = json.dumps({"geometry": {"type": "Polygon", "coordinates": [DAZU_SQUARE]}, "district": "500111"}).encode()
    resp = client.post("/api/screen", data=body, content_type="application/json")
    assert resp.status_code == 200
    row = audit.one("screen")
    # the cookie-free API must not write in the session's name (a cross-site post could forge it)
    assert row["username"] == ANONYMOUS
    assert row["input_sha256"] == sha256(body)
    assert row["versions"]["500111/redline"].startswith("demo:")
    # the same logged-in client on a cookie-authorised route is named: the anonymity is the API's, not the client's
    assert client.get("/api/districts/500111/shares").status_code == 200
    assert audit.one("shares")["username"] == "admin_test"


def test_api_screen_multipart_is_one_anonymous_row(make_app):
    app = make_app()
    client = admin_client(app)
    audit = Audit(app)
    data = SITE_TXT.read_bytes()
    resp = client.post("/api/screen", data={"file": (io.BytesIO(data), SITE_TXT.name)})
    assert resp.status_code == 200
    row = audit.one("screen")
    assert row["username"] == ANONYMOUS and row["input_sha256"] == sha256(data)
    # fetching the stored result and its exports is not another screening
    links = resp.get_json()["links"]
    assert client.get(links["html"]).status_code == 200 and client.get(links["csv"]).status_code == 200
    assert audit.new() == []


def test_screen_form_names_the_logged_in_user(make_app):
    app = make_app()
    client = reviewer_client(app)
    audit = Audit(app)
    coordinates = "\n".join(f"{x},{y}" for x, y in DAZU_SQUARE[:-1])
    resp = client.post("/screen", data={"coordinates": coordinates, "crs": "", "district": "", "bands": "0,100,500,1000,5000",
                                        "csrf_token": csrf_token(client, "/screen")})
    assert resp.status_code == 303
    row = audit.one("screen")
    assert row["username"] == "reviewer_li" and row["input_sha256"] == sha256(coordinates.encode())
    assert client.get(resp.headers["Location"]).status_code == 200
    assert audit.new() == []


def test_refused_screening_writes_nothing(make_app):
    app = make_app()
    audit = Audit(app)
    resp = app.test_client().post("/api/screen", json={"geometry": {"type": "Polygon", "coordinates": [DAZU_SQUARE]}, "district": "500110"})
    assert resp.status_code == 400
    assert audit.new() == []


def test_cli_screen_per_site_is_one_row(make_app, cli_user):
    app = make_app()
    audit = Audit(app)
    result = app.test_cli_runner().invoke(args=["screen", str(SITE_TXT)])
    assert result.exit_code == 0, result.output
    row = audit.one("screen")
    assert row["username"] == cli_user and row["input_sha256"] == sha256(SITE_TXT.read_bytes())


def test_cli_screen_batch_of_points_is_one_row(make_app, cli_user, tmp_path):
    """More than 200 points go through the vectorised engine, which once wrote no audit row at all."""
    app = make_app()
    audit = Audit(app)
    lines = ["name,lon,lat"] + [f"点{i * 25 + j},{105.60 + i * 0.01:.3f},{29.50 + j * 0.01:.3f}" for i in range(10) for j in range(25)]
    points = tmp_path / "points.csv"
    points.write_bytes(("\n".join(lines) + "\n").encode())
    out = tmp_path / "batch.csv"
    result = app.test_cli_runner().invoke(args=["screen", str(points), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "批量引擎" in result.output  # 250 > 200 points: the batch path, not 250 per-site screenings
    row = audit.one("screen")
    assert row["username"] == cli_user and row["input_sha256"] == sha256(points.read_bytes())
    assert "250 个点位" in row["summary"]
    assert any(k.startswith("500111/") for k in row["versions"])


# ------------------------------------------------------------------ shares and sections


def test_shares_api_page_and_cli_one_row_each(make_app, cli_user):
    app = make_app()
    audit = Audit(app)
    assert app.test_client().get("/api/districts/500111/shares").status_code == 200
    row = audit.one("shares")
    assert row["username"] == ANONYMOUS and row["input_sha256"] is None
    assert set(row["versions"]) == {f"500111/{k}" for k in DEMO_KINDS}

    client = reviewer_client(app)
    audit.new()  # the login row
    assert client.get("/districts/500111/shares").status_code == 200
    assert audit.one("shares")["username"] == "reviewer_li"

    runner = app.test_cli_runner()
    assert runner.invoke(args=["shares", "--district", "500111"]).exit_code == 0
    row = audit.one("shares")
    assert row["username"] == cli_user and set(row["versions"]) == {f"500111/{k}" for k in DEMO_KINDS}
    # every district: one row per district, each with its own versions
    assert runner.invoke(args=["shares"]).exit_code == 0
    rows = audit.new()
    assert [r["action"] for r in rows] == ["shares"] * 5
    assert sorted({k.split("/")[0] for r in rows for k in r["versions"]}) == ["500102", "500110", "500111", "500152", "500235"]


def test_sections_api_page_and_cli_report_one_row_each(make_app, cli_user):
    app = make_app()
    audit = Audit(app)
    client = app.test_client()
    assert client.get("/api/sections?district=500110").status_code == 200
    row = audit.one("sections")
    assert row["username"] == ANONYMOUS and "measurements_import" in row["versions"]
    assert client.get("/districts/500110/sections").status_code == 200
    audit.one("sections")
    assert app.test_cli_runner().invoke(args=["sections", "report", "--district", "500110"]).exit_code == 0
    assert audit.one("sections")["username"] == cli_user


def test_measurement_import_api_form_and_cli_one_row_each(make_app, cli_user, tmp_path):
    app = make_app()
    client = admin_client(app)
    audit = Audit(app)
    token = csrf_token(client, "/")

    resp = client.post("/api/sections/measurements", data={"file": (io.BytesIO(MEASUREMENTS_CSV), "m.csv")}, headers={"X-CSRFToken": token})
    assert resp.status_code == 200
    row = audit.one("sections_import")
    assert row["username"] == "admin_test" and row["input_sha256"] == sha256(MEASUREMENTS_CSV)

    form_csv = MEASUREMENTS_CSV.replace(b"2026-01-15", b"2026-02-15")
    page = client.post("/districts/500110/sections/import", data={"file": (io.BytesIO(form_csv), "m.csv"), "csrf_token": token})
    assert page.status_code == 200
    rows = audit.new()
    imports = [r for r in rows if r["action"] == "sections_import"]
    assert len(imports) == 1 and imports[0]["input_sha256"] == sha256(form_csv) and imports[0]["username"] == "admin_test"
    # the page the form answers with is itself a sections report, audited as such (nothing else)
    assert sorted(r["action"] for r in rows) == ["sections", "sections_import"]

    cli_csv = tmp_path / "m.csv"
    cli_csv.write_bytes(MEASUREMENTS_CSV.replace(b"2026-01-15", b"2026-03-15"))
    assert app.test_cli_runner().invoke(args=["sections", "import", str(cli_csv)]).exit_code == 0
    row = audit.one("sections_import")
    assert row["username"] == cli_user and row["input_sha256"] == sha256(cli_csv.read_bytes())

    # a refused file (one bad row) imports nothing and audits nothing
    bad = MEASUREMENTS_CSV + "500110,北渡,2026-04-15,7.5,abc,0.05\n".encode()
    resp = client.post("/api/sections/measurements", data={"file": (io.BytesIO(bad), "m.csv")}, headers={"X-CSRFToken": token})
    assert resp.status_code == 400 and audit.new() == []


# ------------------------------------------------------------------ layers, login


def test_publish_and_rollback_over_http_one_row_each(make_app):
    app = make_app()
    client = admin_client(app)
    audit = Audit(app)
    data = OFFICIAL.read_bytes()
    resp = client.post("/admin/import", data={"file": (io.BytesIO(data), OFFICIAL.name), "district": "500111", "kind": "redline",
                                              "csrf_token": csrf_token(client, "/admin/")})
    assert resp.status_code == 303
    review_url = resp.headers["Location"]
    assert client.get(review_url).status_code == 200
    row = audit.one("stage")  # staging is audited (one row, with the upload's hash); reviewing is not
    assert row["username"] == "admin_test" and row["input_sha256"] == sha256(data)
    token = review_url.rsplit("/", 1)[1]
    confirm = re.search(r'name="confirm_change" value="([^"]+)"', client.get(review_url).get_data(as_text=True)).group(1)
    resp = client.post(f"/admin/imports/{token}/publish", data={"csrf_token": csrf_token(client, "/admin/"), "map_name": "BHMC",
                                                                "map_function": "GNLX", "confirm_change": confirm})
    assert resp.status_code == 303
    row = audit.one("publish")
    assert row["username"] == "admin_test" and row["input_sha256"] == sha256(data)
    assert row["versions"] == {"500111/redline": "v0001"}

    resp = client.post("/admin/rollback", data={"district": "500111", "kind": "redline", "version": "demo",
                                                "csrf_token": csrf_token(client, "/admin/")})
    assert resp.status_code == 303
    row = audit.one("rollback")
    assert row["username"] == "admin_test" and row["versions"] == {"500111/redline": "demo"}


def test_publish_and_rollback_from_the_cli_one_row_each(make_app):
    app = make_app()
    audit = Audit(app)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["layers", "publish", str(OFFICIAL), "--district", "500111", "--kind", "redline", "--user", "zhangsan", "--yes",
                                 "--confirm-change"])
    assert result.exit_code == 0, result.output
    staged, row = audit.new()  # the upload is staged (audited), then published
    assert staged["action"] == "stage" and row["action"] == "publish" and staged["username"] == "zhangsan"
    assert row["username"] == "zhangsan" and row["input_sha256"] == sha256(OFFICIAL.read_bytes())
    result = runner.invoke(args=["layers", "rollback", "--district", "500111", "--kind", "redline", "--to", "demo", "--user", "zhangsan"])
    assert result.exit_code == 0, result.output
    row = audit.one("rollback")
    assert row["username"] == "zhangsan" and row["versions"] == {"500111/redline": "demo"}


def test_login_is_one_row_and_a_failed_login_none(make_app):
    app = make_app()
    app.extensions["services"].accounts.create("reviewer_li", "reviewer password", "reviewer")
    audit = Audit(app)
    client = app.test_client()
    assert login(client, "reviewer_li", "wrong password!").status_code == 401
    assert audit.new() == []
    assert login(client, "reviewer_li", "reviewer password").status_code == 302
    row = audit.one("login")
    assert row["username"] == "reviewer_li" and row["input_sha256"] is None


def test_login_is_rate_limited(make_app):
    app = make_app(RATE_LIMIT_PER_MINUTE=3)
    app.extensions["services"].accounts.create("reviewer_li", "reviewer password", "reviewer")
    audit = Audit(app)
    client = app.test_client()
    token = csrf_token(client)  # GET /login is not counted
    statuses = [client.post("/login", data={"username": "reviewer_li", "password": f"guess number {i}", "csrf_token": token}).status_code
                for i in range(3)]
    assert statuses == [401, 401, 401]
    # the fourth attempt in the minute is refused before the password is looked at, even the right one
    resp = client.post("/login", data={"username": "reviewer_li", "password": "reviewer password", "csrf_token": token})
    assert resp.status_code == 429
    page = resp.get_data(as_text=True)
    assert "请求过于频繁" in page and "每分钟最多 3 次" in page
    assert audit.new() == []
    assert client.get("/admin/").status_code == 302  # not logged in: sent to the login page


def test_reset_password_and_disable_end_open_sessions(make_app):
    """An account reset or disabled from the shell: the old password and every open session stop working at once;
    the actions are in the audit log; a disabled account's HTTP Basic calls fail too."""
    import base64

    from conftest import login

    app = make_app()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["users", "create", "wangwu", "--role", "admin", "--password", "first password!"]).exit_code == 0
    browser = app.test_client()
    assert login(browser, "wangwu", "first password!").status_code == 302
    assert browser.get("/admin/").status_code == 200
    result = runner.invoke(args=["users", "reset-password", "wangwu", "--password", "second password!", "--user", "管理员甲"])
    assert result.exit_code == 0, result.output
    assert browser.get("/admin/").status_code == 302  # signed out: the session was signed before the reset
    assert login(app.test_client(), "wangwu", "first password!").status_code == 401
    again = app.test_client()
    assert login(again, "wangwu", "second password!").status_code == 302 and again.get("/admin/").status_code == 200
    assert runner.invoke(args=["users", "disable", "wangwu"]).exit_code == 0
    assert again.get("/admin/").status_code == 302
    assert login(app.test_client(), "wangwu", "second password!").status_code == 401
    basic = {"Authorization": "Basic " + base64.b64encode(b"wangwu:second password!").decode()}
    assert app.test_client().get("/ogcapi/jobs", headers=basic).status_code == 401
    listed = runner.invoke(args=["users", "list"]).output
    assert "wangwu" in listed and "已停用" in listed
    assert runner.invoke(args=["users", "enable", "wangwu"]).exit_code == 0
    assert login(app.test_client(), "wangwu", "second password!").status_code == 302
    actions = [(e["action"], e["username"]) for e in app.extensions["services"].audit.entries()]
    assert ("reset-password", "管理员甲") in actions and any(a == "disable-user" for a, _ in actions)
    assert runner.invoke(args=["users", "disable", "nobody"]).exit_code == 1
