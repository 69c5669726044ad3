"""OGC API – Processes (Part 1 Core 1.0): descriptions, sync and async execution, the persistent job
queue (restart survival, lease re-claim, exactly-once claims), dismissal, job visibility, audit,
and a real client (OWSLib) against a real HTTP server.

Expected figures are computed here from data/demo.gpkg with shapely and pyproj alone (Geod on
intersections built in this file, distances in the Gauss-Krüger plane), not with geo.screening.
"""
import base64
import csv
import io
import json
import threading
import time

import numpy as np
import pyogrio
import pytest
import requests
import shapely
from shapely.geometry import mapping

from conftest import ROOT, create_app, geodesic_m2, login, to_gk

OGC = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"
PASSWORD = "correct horse battery"
RUNNERS = []


def new_app(tmp_path, **overrides):
    app = create_app({"MEASUREMENTS_DB": str(tmp_path / "measurements.sqlite"), "INSTANCE_DIR": str(tmp_path),
                      "RATE_LIMIT_PER_MINUTE": 100_000, **overrides})
    RUNNERS.append(app.extensions["ogc_jobs"])
    return app


@pytest.fixture(autouse=True)
def _stop_runners():
    """Job threads of the apps a test made end with it (their database pools are closed after it)."""
    yield
    while RUNNERS:
        RUNNERS.pop().stop()


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    app = create_app({"MEASUREMENTS_DB": str(tmp_path_factory.mktemp("ogcp") / "m.sqlite"),
                      "INSTANCE_DIR": str(tmp_path_factory.mktemp("ogcp-instance")), "RATE_LIMIT_PER_MINUTE": 100_000})
    yield app
    app.extensions["ogc_jobs"].stop()


@pytest.fixture()
def client(shared):
    return shared.test_client()


@pytest.fixture(scope="module")
def redline():
    """The dissolved red line of 大足区 (500111) as shipped, and its largest patch (lon/lat)."""
    red = pyogrio.read_dataframe(ROOT / "data" / "demo.gpkg", layer="redline")
    whole = shapely.union_all(red[red["adcode"] == "500111"].geometry.values)
    return whole, max(shapely.get_parts(whole), key=lambda g: to_gk(g).area)


@pytest.fixture(scope="module")
def site(redline):
    """A 600 m square centred on a vertex of the largest patch: partly inside, partly outside."""
    _, patch = redline
    x, y = patch.exterior.coords[0]
    d = 0.003
    return shapely.box(x - d, y - d, x + d, y + d)


def wait_for(client, location, statuses=("successful", "failed", "dismissed"), timeout_s=60, **kw):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        info = client.get(location, **kw).get_json()
        if info["status"] in statuses:
            return info
        time.sleep(0.05)
    raise AssertionError(f"job still {info['status']} after {timeout_s} s")


def basic(username, password=PASSWORD):
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def red_layer(result):
    return next(layer for layer in result["layers"] if layer["kind"] == "redline")


def execute(client, process, inputs, prefer=None, **kw):
    headers = {**({"Prefer": prefer} if prefer else {}), **kw.pop("headers", {})}
    return client.post(f"/ogcapi/processes/{process}/execution", json={"inputs": inputs, **kw}, headers=headers)


# ------------------------------------------------------------------ descriptions

def test_process_list_and_descriptions(client):
    doc = client.get("/ogcapi/processes").get_json()
    assert {p["id"] for p in doc["processes"]} == {"site-screening", "district-shares", "batch-screening"}
    assert doc["links"][0]["rel"] == "self" and doc["links"][0]["href"].startswith("http://")
    d = client.get("/ogcapi/processes/site-screening").get_json()
    assert d["jobControlOptions"] == ["sync-execute", "async-execute"] and "reference" in d["outputTransmission"]
    assert d["inputs"]["geometry"]["minOccurs"] == d["inputs"]["file"]["minOccurs"] == 0 and d["inputs"]["crs"]["minOccurs"] == 0  # one of the two
    assert d["inputs"]["bands"]["schema"]["type"] == "array"
    assert set(d["outputs"]) == {"result", "overlaps", "pdf", "xlsx"}
    assert d["outputs"]["overlaps"]["schema"]["contentMediaType"] == "application/geo+json"
    b = client.get("/ogcapi/processes/batch-screening").get_json()
    assert b["jobControlOptions"] == ["async-execute"] and b["inputs"]["file"]["schema"]["contentEncoding"] == "base64"
    missing = client.get("/ogcapi/processes/no-such")
    assert missing.status_code == 404 and missing.get_json()["type"] == OGC + "no-such-process"


def test_openapi_fragment_is_valid(client):
    """The Processes paths inside the API definition /ogcapi/api, which validates as a whole."""
    from openapi_spec_validator import validate

    from services import ogc_processes

    doc = client.get("/ogcapi/api").get_json()
    validate(doc)
    assert set(ogc_processes.openapi_paths()) <= set(doc["paths"])
    assert set(ogc_processes.openapi_paths()) == {"/ogcapi/processes", "/ogcapi/processes/{processId}", "/ogcapi/processes/{processId}/execution",
                                 "/ogcapi/jobs", "/ogcapi/jobs/{jobId}", "/ogcapi/jobs/{jobId}/results"}
    assert len(ogc_processes.CONFORMANCE) == 5 and all(c.startswith("http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/")
                                                      for c in ogc_processes.CONFORMANCE)


# ------------------------------------------------------------------ synchronous execution

def test_sync_site_screening_matches_independent_geodesy(client, redline, site):
    whole, _ = redline
    resp = execute(client, "site-screening", {"geometry": mapping(site), "crs": "EPSG:4490"})
    assert resp.status_code == 200, resp.get_json()
    out = resp.get_json()
    expected = geodesic_m2(site.intersection(whole))
    assert 0 < expected < geodesic_m2(site)
    red = red_layer(out["result"])
    assert red["total_overlap_m2"] == pytest.approx(expected, rel=1e-6)
    # the same document as POST /api/screen, links absolute
    api = client.post("/api/screen", json={"geometry": mapping(site), "crs": "EPSG:4490"}).get_json()
    assert red_layer(api)["total_overlap_m2"] == red["total_overlap_m2"] and api["verdict"] == out["result"]["verdict"]
    assert set(out["result"]) == set(api)
    assert out["result"]["links"]["pdf"].startswith("http://localhost/screen/results/")
    assert out["pdf"]["href"] == out["result"]["links"]["pdf"] and out["xlsx"]["type"].endswith("spreadsheetml.sheet")
    # the overlaps output: the pieces of the export, summing to the same area
    pieces = [shapely.geometry.shape(f["geometry"]) for f in out["overlaps"]["features"] if f["properties"]["kind"] == "redline"]
    assert sum(geodesic_m2(p) for p in pieces) == pytest.approx(expected, rel=1e-6)
    assert out["overlaps"] == client.get(out["result"]["links"]["geojson"]).get_json()
    assert client.get(out["xlsx"]["href"]).status_code == 200


def test_sync_outputs_raw_and_by_reference(client, site):
    geom = mapping(site)
    raw = execute(client, "site-screening", {"geometry": geom, "crs": "EPSG:4490"}, outputs={"overlaps": {}}, response="raw")
    assert raw.status_code == 200 and raw.mimetype == "application/geo+json" and raw.get_json()["type"] == "FeatureCollection"
    ref = execute(client, "site-screening", {"geometry": geom, "crs": "EPSG:4490"},
                  outputs={"result": {"transmissionMode": "reference"}}).get_json()
    assert list(ref) == ["result"] and ref["result"]["href"].endswith(".json")
    assert client.get(ref["result"]["href"]).get_json()["verdict"]["level"]
    bad = execute(client, "district-shares", {"adcode": "500111"}, outputs={"result": {"transmissionMode": "reference"}})
    assert bad.status_code == 400 and "传输方式" in bad.get_json()["title"]
    assert execute(client, "site-screening", {"geometry": geom}, response="raw").status_code == 400  # four outputs


def test_sync_district_shares_is_the_api_answer(client):
    out = execute(client, "district-shares", {"adcode": "500111", "geometry": False}).get_json()
    assert out["result"] == client.get("/api/districts/500111/shares?geometry=0").get_json()
    unknown = execute(client, "district-shares", {"adcode": "999999"})
    assert unknown.status_code == 404 and "未知的行政区划代码" in unknown.get_json()["title"]


@pytest.mark.parametrize("inputs, words", [
    ({}, "缺少必需的输入"),
    ({"geometry": {"type": "Point", "coordinates": [105.7, 29.7]}, "colour": "red"}, "没有输入 colour"),
    ({"geometry": "POINT (105 29)"}, "geometry 须为 GeoJSON 对象"),
    ({"geometry": {"type": "Point", "coordinates": [105.7, 29.7]}, "bands": "a,b"}, "距离分级"),
    ({"geometry": {"type": "Point", "coordinates": [105.7, 29.7]}, "crs": 4490}, "crs 须为字符串"),
    ({"geometry": {"href": "http://169.254.169.254/latest/meta-data"}}, "SSRF"),
])
def test_bad_inputs_are_400_in_chinese_and_english(client, inputs, words):
    resp = execute(client, "site-screening", inputs)
    body = resp.get_json()
    assert resp.status_code == 400 and words in body["title"] and body["detail"] and body["status"] == 400
    assert resp.headers["Content-Type"].startswith("application/problem+json")


def test_a_body_that_is_not_json_is_415(client):
    resp = client.post("/ogcapi/processes/site-screening/execution", data="geometry=1", content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 415 and "JSON" in resp.get_json()["title"]


# ------------------------------------------------------------------ async jobs

def test_async_lifecycle_equals_sync(client, site):
    inputs = {"geometry": mapping(site), "crs": "EPSG:4490"}
    resp = execute(client, "site-screening", inputs, prefer="respond-async")
    assert resp.status_code == 201 and resp.headers["Preference-Applied"] == "respond-async"
    info = resp.get_json()
    assert resp.headers["Location"] == f"http://localhost/ogcapi/jobs/{info['jobID']}"
    assert info["status"] == "accepted" and info["type"] == "process" and info["processID"] == "site-screening"
    assert len(info["jobID"]) >= 22  # 128 random bits
    done = wait_for(client, resp.headers["Location"])
    assert done["status"] == "successful" and done["progress"] == 100 and done["finished"] >= done["started"] >= done["created"]
    assert any(link["rel"] == "results" for link in done["links"])
    results = client.get(done["links"][-1]["href"]).get_json()
    sync = execute(client, "site-screening", inputs).get_json()
    assert red_layer(results["result"])["total_overlap_m2"] == red_layer(sync["result"])["total_overlap_m2"]
    assert results["result"]["verdict"] == sync["result"]["verdict"]
    assert results["result"]["links"]["html"].startswith("http://localhost/screen/results/")
    assert client.get(results["result"]["links"]["html"]).status_code == 200
    # dismiss: statusInfo dismissed, results and the stored screening result gone
    gone = client.delete(resp.headers["Location"])
    assert gone.status_code == 200 and gone.get_json()["status"] == "dismissed"
    assert client.get(resp.headers["Location"]).get_json()["status"] == "dismissed"
    after = client.get(resp.headers["Location"] + "/results")
    assert after.status_code == 404 and after.get_json()["type"] == OGC + "no-such-job"
    assert client.get(results["result"]["links"]["json"]).status_code == 404


def test_unknown_job_and_result_not_ready(tmp_path):
    app = new_app(tmp_path, JOB_WORKERS=0)  # nobody runs jobs in this process
    c = app.test_client()
    for path in ("/ogcapi/jobs/nope", "/ogcapi/jobs/nope/results"):
        resp = c.get(path)
        assert resp.status_code == 404 and resp.get_json()["type"] == OGC + "no-such-job"
    assert c.delete("/ogcapi/jobs/nope").status_code == 404
    resp = execute(c, "district-shares", {"adcode": "500111"}, prefer="respond-async")
    early = c.get(resp.headers["Location"] + "/results")
    assert early.status_code == 404 and early.get_json()["type"] == OGC + "result-not-ready"
    assert "尚未完成" in early.get_json()["title"]
    assert c.get(resp.headers["Location"]).get_json()["status"] == "accepted"


def test_jobs_survive_a_restart_and_left_jobs_run(tmp_path, site):
    app = new_app(tmp_path)
    c = app.test_client()
    loc = execute(c, "site-screening", {"geometry": mapping(site), "crs": "EPSG:4490"}, prefer="respond-async").headers["Location"]
    assert wait_for(c, loc)["status"] == "successful"
    before = c.get(loc + "/results").get_json()
    queued = new_app(tmp_path, JOB_WORKERS=0)  # a process that queues but never runs: it "dies" with the job accepted
    left = execute(queued.test_client(), "district-shares", {"adcode": "500111", "geometry": False},
                   prefer="respond-async").headers["Location"]
    assert queued.test_client().get(left).get_json()["status"] == "accepted"
    for runner in RUNNERS:
        runner.stop()
    restarted = new_app(tmp_path)
    c2 = restarted.test_client()
    assert c2.get(loc).get_json()["status"] == "successful" and c2.get(loc + "/results").get_json() == before
    assert wait_for(c2, left)["status"] == "successful"
    assert c2.get(left + "/results").get_json()["result"] == c2.get("/api/districts/500111/shares?geometry=0").get_json()


def test_a_running_job_whose_lease_expired_is_claimed_again(tmp_path):
    app = new_app(tmp_path, JOB_WORKERS=0)
    loc = execute(app.test_client(), "district-shares", {"adcode": "500111", "geometry": False}, prefer="respond-async").headers["Location"]
    job_id = loc.rsplit("/", 1)[1]
    db = app.extensions["services"].db
    db.execute("UPDATE jobs SET status = 'running', worker = 'dead:1', lease_until = ?, attempts = 1, started_at = ? WHERE id = ?",
               (time.time() - 1, time.time() - 120, job_id))
    alive = new_app(tmp_path, JOB_WORKERS=0)
    alive.extensions["ogc_jobs"].store.db.execute("UPDATE jobs SET lease_until = ? WHERE id = ?", (time.time() + 600, job_id))
    assert alive.extensions["ogc_jobs"].store.claim("other", 60) is None  # a live lease is nobody else's
    db.execute("UPDATE jobs SET lease_until = ? WHERE id = ?", (time.time() - 1, job_id))
    restarted = new_app(tmp_path)
    assert wait_for(restarted.test_client(), loc)["status"] == "successful"
    assert db.execute("SELECT attempts, worker FROM jobs WHERE id = ?", (job_id,))[0][0] == 2


def test_claims_are_exactly_once_across_processes(tmp_path):
    queue = new_app(tmp_path, JOB_WORKERS=0)
    c = queue.test_client()
    ids = {execute(c, "district-shares", {"adcode": "500111"}, prefer="respond-async").get_json()["jobID"] for _ in range(12)}
    stores = [new_app(tmp_path, JOB_WORKERS=0).extensions["ogc_jobs"].store for _ in range(3)]  # three "processes"
    claimed, lock = [], threading.Lock()

    def worker(store, name):
        while (job := store.claim(name, 60)) is not None:
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=worker, args=(s, f"w{n}")) for n, s in enumerate(stores) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(ids)


def test_dismiss_stops_a_running_job(tmp_path, monkeypatch, redline):
    import services.screening as screening_service

    real = screening_service.screen_sites

    def slow(*args, **kwargs):  # each site takes long enough to dismiss the job half-way
        time.sleep(0.05)
        return real(*args, **kwargs)

    monkeypatch.setattr(screening_service, "screen_sites", slow)
    _, patch = redline
    x0, y0, x1, y1 = patch.bounds
    points = [{"type": "Feature", "properties": {"name": f"P{i}"},
               "geometry": {"type": "Point", "coordinates": [x0 + (x1 - x0) * i / 200, (y0 + y1) / 2]}} for i in range(200)]
    app = new_app(tmp_path)
    c = app.test_client()
    audit_before = len(app.extensions["services"].audit.entries(1000))
    loc = execute(c, "site-screening", {"geometry": {"type": "FeatureCollection", "features": points}, "crs": "EPSG:4490"},
                  prefer="respond-async").headers["Location"]
    running = wait_for(c, loc, statuses=("running",))
    deadline = time.time() + 30
    while running["progress"] <= 5 and time.time() < deadline:
        time.sleep(0.1)
        running = c.get(loc).get_json()
    assert 5 < running["progress"] < 100 and "/ 200 个站点" in running["message"]
    assert c.delete(loc).get_json()["status"] == "dismissed"
    runner = app.extensions["ogc_jobs"]
    deadline = time.time() + 5
    while runner.running and time.time() < deadline:
        time.sleep(0.05)
    assert not runner.running  # stopped at its next progress step, not after 200 sites
    assert c.get(loc).get_json()["status"] == "dismissed"
    assert len(app.extensions["services"].audit.entries(1000)) == audit_before  # nothing screened to the end, nothing stored


# ------------------------------------------------------------------ batch screening

def _file_input(text: str, **extra):
    return {"value": base64.b64encode(text.encode()).decode(), "mediaType": "text/csv", "encoding": "base64", **extra}


def test_batch_screening_of_many_points(tmp_path, monkeypatch, redline):
    from state.jobs import JobStore

    _, patch = redline
    red = to_gk(patch)
    layers = {k: pyogrio.read_dataframe(ROOT / "data" / "demo.gpkg", layer=k) for k in ("protected_area", "water_source_zone", "district")}
    protected = layers["protected_area"]
    protected_gk = [to_gk(g) for g in protected.geometry.values]
    water_gk = to_gk(shapely.union_all(layers["water_source_zone"].geometry.values))
    loaded = to_gk(shapely.union_all(layers["district"].geometry.values))  # every district has water source zones loaded
    rng = np.random.default_rng(7)
    x0, y0, x1, y1 = patch.bounds
    pts, water_expected = [], []
    while len(pts) < 250:
        p = shapely.Point(rng.uniform(x0, x1), rng.uniform(y0, y1))
        g = to_gk(p)
        if not patch.contains(p) or red.exterior.distance(g) < 5 or min(d.distance(g) for d in protected_gk) > 4800:
            continue
        water_d = water_gk.distance(g)
        uncovered = g.buffer(5000, 64).difference(loaded).area
        if 4800 < water_d < 5200 or 0.5 < uncovered < 2e4:  # too near a band or tolerance edge to call independently
            continue
        pts.append(p)
        water_expected.append("涉及" if water_d == 0 else "无法判定" if uncovered >= 2e4 else "临近" if water_d < 5000 else "不涉及")
    text = "name,lon,lat\n" + "".join(f"S{i},{p.x:.7f},{p.y:.7f}\n" for i, p in enumerate(pts))
    writes = []
    real_renew = JobStore.renew
    monkeypatch.setattr(JobStore, "renew", lambda self, *a, **k: writes.append((a, k)) or real_renew(self, *a, **k))

    app = new_app(tmp_path)
    c = app.test_client()
    resp = execute(c, "batch-screening", {"file": _file_input(text), "crs": "EPSG:4490"})
    assert resp.status_code == 201 and "Preference-Applied" not in resp.headers  # async only: queued without being asked
    done = wait_for(c, resp.headers["Location"])
    assert done["status"] == "successful", c.get(resp.headers["Location"] + "/results").get_json()
    assert any(a[3] is not None and "/ 250" in (a[4] or "") for a, _ in writes if len(a) >= 5)  # progress was reported
    out = c.get(resp.headers["Location"] + "/results").get_json()
    rows = out["rows"]
    assert len(rows) == len(pts) and out["summary"]["sites"] == len(pts) and out["summary"]["errors"] == 0  # one row per site
    for i, p in enumerate(pts):
        row = rows[i]
        assert row["name"] == f"S{i}" and row["row"] == i + 1
        assert row["redline_level"] == "涉及" and row["redline_distance_m"] == 0
        inside = [fid for fid, geom in zip(protected["feature_id"], protected.geometry) if geom.contains(p)]
        assert (row["protected_area_level"] == "涉及") == bool(inside)
        assert row["water_source_zone_level"] == water_expected[i], i
    table = c.get(out["table"]["href"].replace("http://localhost", ""))
    assert table.status_code == 200 and table.mimetype == "text/csv"
    parsed = list(csv.DictReader(io.StringIO(table.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(parsed) == len(rows) and parsed[0]["name"] == rows[0]["name"] and parsed[0]["redline_level"] == "涉及"
    kept = json.loads(app.extensions["ogc_jobs"].store.inputs(done["jobID"]))  # a finished job keeps no file bytes
    assert kept["inputs"]["file"]["value"].endswith("not kept>") and kept["inputs"]["crs"] == "EPSG:4490"


def test_jobs_older_than_the_retention_are_deleted(tmp_path):
    app = new_app(tmp_path, JOB_WORKERS=0, RESULT_RETENTION_DAYS=1)
    c = app.test_client()
    old = execute(c, "district-shares", {"adcode": "500111"}, prefer="respond-async").get_json()["jobID"]
    db = app.extensions["services"].db
    db.execute("UPDATE jobs SET created_at = ? WHERE id = ?", (time.time() - 2 * 86400, old))
    assert c.get(f"/ogcapi/jobs/{old}").status_code == 404  # expired: no longer answered
    execute(c, "district-shares", {"adcode": "500111"}, prefer="respond-async")
    assert db.execute("SELECT COUNT(*) FROM jobs WHERE id = ?", (old,))[0][0] == 0  # and gone with the next submission


def test_batch_screening_refuses_references_and_bad_files(client):
    href = execute(client, "batch-screening", {"file": {"href": "http://127.0.0.1:22/sites.csv"}})
    assert href.status_code == 400
    body = href.get_json()
    assert "不接受 href" in body["title"] and "SSRF" in body["title"] and "SSRF" in body["detail"]
    bad64 = execute(client, "batch-screening", {"file": {"value": "not base64!!", "mediaType": "text/csv"}})
    assert bad64.status_code == 400 and "base64" in bad64.get_json()["title"]
    unknown = execute(client, "batch-screening", {"file": {"value": "YQ==", "mediaType": "image/png"}})
    assert unknown.status_code == 415 and "mediaType" in unknown.get_json()["title"]
    plain = execute(client, "batch-screening", {"file": "bmFtZQ=="})
    assert plain.status_code == 400 and "qualified" in plain.get_json()["detail"]


def test_a_failed_job_answers_its_error(client):
    garbage = _file_input("this,is\nnot,coordinates\n", filename="sites.csv")
    loc = execute(client, "batch-screening", {"file": garbage}).headers["Location"]
    info = wait_for(client, loc)
    assert info["status"] == "failed" and any(link["rel"] == "results" for link in info["links"])
    resp = client.get(loc + "/results")
    body = resp.get_json()
    assert resp.status_code == 400 and body["title"] and body["detail"] and body["title"] in info["message"]


# ------------------------------------------------------------------ who acts: job list and audit

def test_job_list_shows_own_jobs_and_audit_names_the_basic_user(tmp_path, site):
    app = new_app(tmp_path, JOB_WORKERS=0)
    accounts = app.extensions["services"].accounts
    accounts.create("alice", PASSWORD, "reviewer")
    accounts.create("bob_r", PASSWORD, "reviewer")
    accounts.create("root_admin", PASSWORD, "admin")
    c = app.test_client()
    mine = execute(c, "district-shares", {"adcode": "500111"}, prefer="respond-async", headers=basic("alice")).get_json()["jobID"]
    theirs = execute(c, "district-shares", {"adcode": "500110"}, prefer="respond-async", headers=basic("bob_r")).get_json()["jobID"]
    anonymous = execute(c, "district-shares", {"adcode": "500110"}, prefer="respond-async").get_json()["jobID"]
    listed = lambda who: {j["jobID"] for j in c.get("/ogcapi/jobs", headers=basic(who)).get_json()["jobs"]}  # noqa: E731
    assert listed("alice") == {mine} and listed("bob_r") == {theirs} and listed("root_admin") == {mine, theirs, anonymous}
    nobody = c.get("/ogcapi/jobs").get_json()
    assert nobody["jobs"] == [] and "匿名" in nobody["note_zh"]
    assert c.get(f"/ogcapi/jobs/{theirs}").status_code == 200  # the id itself grants access to that one job
    wrong = c.get("/ogcapi/jobs", headers=basic("alice", "wrong password!"))
    assert wrong.status_code == 401 and "HTTP Basic" in wrong.get_json()["title"] and "Basic" not in wrong.headers.get("WWW-Authenticate", "")
    assert c.delete(f"/ogcapi/jobs/{theirs}").get_json()["status"] == "dismissed"
    assert listed("bob_r") == set()  # dismissed jobs are off the list
    # the audit names the Basic-auth user of a sync execution, and the submitter of an async one once a worker runs it
    audit = app.extensions["services"].audit
    assert execute(c, "site-screening", {"geometry": mapping(site), "crs": "EPSG:4490"}, headers=basic("alice")).status_code == 200
    assert audit.entries(1)[0]["username"] == "alice" and audit.entries(1)[0]["action"] == "screen"
    worker = app.extensions["ogc_jobs"]
    while (job := worker.store.claim("test", 60)) is not None:
        worker.run(job)
    names = [(e["username"], e["action"]) for e in audit.entries(10)]
    assert ("alice", "shares") in names and ("匿名", "shares") in names and ("bob_r", "shares") not in names


def test_session_user_owns_json_executions(tmp_path):
    app = new_app(tmp_path, JOB_WORKERS=0)
    app.extensions["services"].accounts.create("carol", PASSWORD, "reviewer")
    c = app.test_client()
    assert login(c, "carol", PASSWORD).status_code == 302
    job_id = execute(c, "district-shares", {"adcode": "500111"}, prefer="respond-async").get_json()["jobID"]
    assert [j["jobID"] for j in c.get("/ogcapi/jobs").get_json()["jobs"]] == [job_id]
    assert app.extensions["ogc_jobs"].store.get(job_id).owner == "carol"


# ------------------------------------------------------------------ a real client over real HTTP

@pytest.fixture()
def server(tmp_path):
    from waitress import create_server

    app = new_app(tmp_path)
    srv = create_server(app, host="127.0.0.1", port=0, threads=4)

    def serve():
        try:
            srv.run()
        except (OSError, ValueError):  # the listening socket closed under the loop at teardown
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.effective_port}/ogcapi/"
    srv.close()
    thread.join(5)


def test_owslib_against_a_live_server(server, site):
    from owslib.ogcapi.processes import Processes

    p = Processes(server)
    assert {x["id"] for x in p.processes()} == {"site-screening", "district-shares", "batch-screening"}
    description = p.process("site-screening")
    assert description["inputs"]["geometry"]["schema"]["oneOf"]
    inputs = {"geometry": mapping(site), "crs": "EPSG:4490"}
    sync = p.execute("site-screening", inputs=json.loads(json.dumps(inputs)))
    assert sync["result"]["links"]["pdf"].startswith(server.replace("/ogcapi/", "/screen/results/"))
    # async: OWSLib sends Prefer: respond-async and hands back the status document; polled over plain HTTP
    info = Processes(server).execute("site-screening", inputs=json.loads(json.dumps(inputs)), async_=True)
    assert info["status"] in ("accepted", "running", "successful")
    job_url = next(link["href"] for link in info["links"] if link["rel"] == "self")
    deadline = time.time() + 60
    while (status := requests.get(job_url, timeout=10).json())["status"] not in ("successful", "failed") and time.time() < deadline:
        time.sleep(0.05)
    assert status["status"] == "successful"
    results = requests.get(job_url + "/results", timeout=10).json()
    assert red_layer(results["result"])["total_overlap_m2"] == red_layer(sync["result"])["total_overlap_m2"]
    assert requests.get(results["pdf"]["href"].replace(".pdf", ".xlsx"), timeout=10).status_code == 200
    assert requests.delete(job_url, timeout=10).json()["status"] == "dismissed"


# ------------------------------------------------------------------ the standalone worker

def test_standalone_worker_process_runs_queued_jobs(tmp_path):
    import os
    import subprocess
    import sys

    from conftest import backend_env

    app = new_app(tmp_path, JOB_WORKERS=0)  # the web process only queues
    c = app.test_client()
    loc = execute(c, "district-shares", {"adcode": "500111", "geometry": False}, prefer="respond-async").headers["Location"]
    env = {**os.environ, "ZONING_INSTANCE_DIR": str(tmp_path), "ZONING_MEASUREMENTS_DB": str(tmp_path / "measurements.sqlite"),
           **backend_env(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "jobs", "work", "--once"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "已执行 1 个作业" in done.stdout
    info = c.get(loc).get_json()
    assert info["status"] == "successful" and info["progress"] == 100
    assert c.get(loc + "/results").get_json()["result"] == c.get("/api/districts/500111/shares?geometry=0").get_json()


def test_every_route_is_in_the_openapi_fragment(shared):
    import re

    from services import ogc_processes

    paths = ogc_processes.openapi_paths()
    routes = {}
    for rule in shared.url_map.iter_rules():
        if rule.endpoint.startswith("ogc_processes."):
            routes.setdefault(re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule), set()).update(
                m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    assert set(routes) == set(paths)
    for path, methods in routes.items():
        assert methods == set(paths[path]), path
        components = ogc_processes.openapi_components()["parameters"]
        for method in methods:
            declared = {components[p["$ref"].rsplit("/", 1)[1]]["name"] if "$ref" in p else p["name"]
                        for p in paths[path][method].get("parameters", [])
                        if (components[p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p)["in"] == "path"}
            assert declared == set(re.findall(r"{([^}]+)}", path)), (method, path)


def test_site_screening_of_a_file_equals_the_upload_api(client):
    """A 界址点 TXT sent as a base64 file input gives what /api/screen gives for the same upload."""
    path = ROOT / "tests" / "data" / "site_dazu_jzd.txt"
    data = path.read_bytes()
    resp = execute(client, "site-screening", {"file": {"value": base64.b64encode(data).decode(), "mediaType": "text/plain",
                                                       "encoding": "base64", "filename": path.name}})
    assert resp.status_code == 200, resp.get_json()
    mine = resp.get_json()["result"]
    api = client.post("/api/screen", data={"file": (io.BytesIO(data), path.name)}).get_json()
    assert mine["verdict"] == api["verdict"]
    assert red_layer(mine)["total_overlap_m2"] == red_layer(api)["total_overlap_m2"] > 0
    both = execute(client, "site-screening", {"file": {"value": "YQ==", "mediaType": "text/plain"},
                                               "geometry": {"type": "Point", "coordinates": [105.7, 29.7]}})
    assert both.status_code == 400 and "只能给出其一" in both.get_json()["title"]
    neither = execute(client, "site-screening", {"crs": "EPSG:4490"})
    assert neither.status_code == 400


def test_batch_job_site_limit_names_its_setting(tmp_path):
    app = new_app(tmp_path, JOB_MAX_SITES=3)
    c = app.test_client()
    text = "name,lon,lat\n" + "".join(f"S{i},{105.70 + i * 1e-3:.4f},29.70\n" for i in range(4))
    loc = execute(c, "batch-screening", {"file": _file_input(text)}).headers["Location"]
    info = wait_for(c, loc)
    assert info["status"] == "failed"
    resp = c.get(loc + "/results")
    assert resp.status_code == 413 and "JOB_MAX_SITES" in resp.get_json()["title"] and "screen-batch" in resp.get_json()["detail"]
