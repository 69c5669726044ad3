"""我的初筛: a signed-in user's own screenings listed with their project information, searchable, re-run against the
data in force with the differences shown; nobody else's rows; REQUIRE_LOGIN_FOR_SCREENING refuses anonymous screening
on the form, the API and the OGC processes."""
import base64
import re

from conftest import ROOT, csrf_token, login

DATA = ROOT / "tests" / "data"
OFFICIAL = DATA / "official_redline_dazu_gk35_gbk.zip"
SITE = DATA / "site_dazu_jzd.txt"
PASSWORD = "correct horse battery"


def reviewer(app, name: str):
    if app.extensions["services"].accounts.get(name) is None:
        app.extensions["services"].accounts.create(name, PASSWORD, "reviewer")
    client = app.test_client()
    assert login(client, name, PASSWORD).status_code == 302
    return client


def screen(client, project: dict) -> str:
    with open(SITE, "rb") as fh:
        resp = client.post("/screen", data={"file": (fh, SITE.name), "bands": "0,100,500", "csrf_token": csrf_token(client, "/screen"),
                                            **{f"project_{k}": v for k, v in project.items()}})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:300]
    return resp.headers["Location"].rsplit("/", 1)[-1]


def ids_on(page: str) -> list[str]:
    """The results listed, in order (their 结果页 links)."""
    return re.findall(r'href="/screen/results/([\w-]+)">结果页', page)


def test_history_lists_own_checks_newest_first_and_searches(make_app):
    app = make_app()
    li = reviewer(app, "reviewer_li")
    first = screen(li, {"name": "双桥物流园", "builder": "甲公司", "code": "XM-001"})
    second = screen(li, {"name": "龙水湖码头", "builder": "乙公司"})
    other = screen(reviewer(app, "reviewer_wang"), {"name": "王的项目"})
    page = li.get("/my/checks").get_data(as_text=True)
    assert ids_on(page)[:2] == [second, first] and other not in page and "王的项目" not in page
    assert "双桥物流园" in page and "甲公司" in page and "XM-001" in page and "含示意数据" in page
    assert f"/screen/results/{first}.docx" in page and f"/screen/results/{first}.pdf" in page
    found = li.get("/my/checks?q=乙公司").get_data(as_text=True)
    assert ids_on(found) == [second] and "找到 1 次初筛" in found
    assert ids_on(li.get("/my/checks?q=XM-001").get_data(as_text=True)) == [first]
    assert "没有找到" in li.get("/my/checks?q=%25_").get_data(as_text=True)  # LIKE wildcards are text
    anonymous = app.test_client().get("/my/checks")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_rerun_against_newer_data_shows_what_changed(make_app):
    app = make_app()
    li = reviewer(app, "reviewer_li")
    old_id = screen(li, {"name": "双桥物流园"})
    old = li.get(f"/screen/results/{old_id}.json").get_json()
    result = app.test_cli_runner().invoke(args=["layers", "publish", str(OFFICIAL), "--district", "500111", "--kind", "redline",
                                                "--user", "管理员", "--yes", "--confirm-change"])
    assert result.exit_code == 0, result.output
    page = li.get(f"/screen/results/{old_id}").get_data(as_text=True)
    assert "按现行数据重新初筛并比较" in page
    resp = li.post(f"/my/checks/{old_id}/rerun", data={"csrf_token": csrf_token(li, f"/screen/results/{old_id}")})
    assert resp.status_code == 303
    new_id = resp.headers["Location"].rsplit("/", 1)[-1]
    assert new_id != old_id
    new = li.get(f"/screen/results/{new_id}.json").get_json()
    assert new["project"] == {"name": "双桥物流园"} and new["rerun_of"]["result_id"] == old_id
    assert new["method"]["data"]["layer_versions"]["500111/redline"] == "v0001"
    (diff,) = new["rerun_of"]["differences"]
    assert f"500111/redline：{old['method']['data']['layer_versions']['500111/redline']} → v0001" in diff["versions"]
    red_old = next(layer for layer in old["layers"] if layer["kind"] == "redline")
    red_new = next(layer for layer in new["layers"] if layer["kind"] == "redline")
    if abs((red_old["total_overlap_m2"] or 0) - (red_new["total_overlap_m2"] or 0)) >= 0.01:
        assert any(f"由 {red_old['total_overlap_m2'] or 0:.2f} m² 变为 {red_new['total_overlap_m2'] or 0:.2f} m²" in c for c in diff["changes"])
    old_names = {h["name"] for h in red_old["hits"] if h["relation"] in ("within", "intersects")}
    new_names = {h["name"] for h in red_new["hits"] if h["relation"] in ("within", "intersects")}
    for name in new_names - old_names:
        assert f"新涉及生态保护红线：{name}" in diff["changes"]
    for name in old_names - new_names:
        assert f"不再涉及生态保护红线：{name}" in diff["changes"]
    assert old_names != new_names or red_old["total_overlap_m2"] != red_new["total_overlap_m2"]  # the data did change the answer
    shown = li.get(f"/screen/results/{new_id}").get_data(as_text=True)
    assert "按现行数据重新初筛：与" in shown and f'href="/screen/results/{old_id}"' in shown
    listed = li.get("/my/checks").get_data(as_text=True)
    assert ids_on(listed)[0] == new_id and "原初筛" in listed and "500111/redline=v0001" in listed


def test_rerun_of_unchanged_data_says_so_and_is_owner_only(make_app):
    app = make_app()
    li = reviewer(app, "reviewer_li")
    rid = screen(li, {"name": "同一数据"})
    resp = li.post(f"/my/checks/{rid}/rerun", data={"csrf_token": csrf_token(li, "/my/checks")})
    shown = li.get(resp.headers["Location"]).get_data(as_text=True)
    assert "结论与涉及要素未变" in shown and "所用图层版本相同" in shown
    wang = reviewer(app, "reviewer_wang")
    assert "按现行数据重新初筛并比较" not in wang.get(f"/screen/results/{rid}").get_data(as_text=True)
    assert wang.post(f"/my/checks/{rid}/rerun", data={"csrf_token": csrf_token(wang, "/my/checks")}).status_code == 404
    assert app.test_client().post(f"/my/checks/{rid}/rerun").status_code in (302, 400)  # not signed in (or no CSRF token)


def test_require_login_for_screening(make_app):
    app = make_app(REQUIRE_LOGIN_FOR_SCREENING=True)
    anonymous = app.test_client()
    form = anonymous.get("/screen")
    assert form.status_code == 302 and "/login" in form.headers["Location"]
    point = {"geometry": {"type": "Point", "coordinates": [105.6, 29.745]}, "crs": "EPSG:4490"}
    refused = anonymous.post("/api/screen", json=point)
    assert refused.status_code == 401 and "REQUIRE_LOGIN_FOR_SCREENING" in refused.get_json()["error"]
    ogc = anonymous.post("/ogcapi/processes/site-screening/execution", json={"inputs": point})
    assert ogc.status_code == 401
    audit = app.extensions["services"].audit
    assert not [e for e in audit.entries(1000) if e["action"] == "screen"]
    app.extensions["services"].accounts.create("reviewer_li", PASSWORD, "reviewer")
    basic = {"Authorization": "Basic " + base64.b64encode(f"reviewer_li:{PASSWORD}".encode()).decode()}
    body = anonymous.post("/api/screen", json={**point, "project": {"name": "接口项目"}}, headers=basic).get_json()
    assert body["project"] == {"name": "接口项目"}
    li = reviewer(app, "reviewer_li")
    assert li.get("/screen").status_code == 200
    assert body["result_id"] in ids_on(li.get("/my/checks").get_data(as_text=True))  # the API call is in the history
    entry = next(e for e in audit.entries(1000) if e["result_id"] == body["result_id"])
    assert entry["username"] == "reviewer_li"
