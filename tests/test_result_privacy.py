"""Who may read a stored screening result, and how much of them one process keeps in memory.

With RESULTS_PRIVATE a signed-in user's result is readable by that user and the administrators only; everyone else
gets the 404 of an unknown link. An anonymous user's result stays a capability link. The in-memory copies are bounded
by size: many large results leave the process's memory bounded, and every one is still read back from the database."""
import base64
import gc
import tracemalloc

import pytest

from conftest import csrf_token, login
from services.results import ResultStore

PASSWORD = "correct horse battery"
FORMATS = ("", ".json", ".pdf", ".xlsx", ".csv")


def screen_as(client) -> str:
    """The result id of a point screened through the web form, as whoever client is signed in as."""
    resp = client.post("/screen", data={"coordinates": "105.72,29.70", "crs": "EPSG:4490", "csrf_token": csrf_token(client, "/screen")})
    assert resp.status_code == 303, resp.get_data(as_text=True)[:300]
    return resp.headers["Location"].rsplit("/", 1)[-1]


def signed_in(app, username: str, role: str):
    app.extensions["services"].accounts.create(username, PASSWORD, role)
    client = app.test_client()
    assert login(client, username, PASSWORD).status_code == 302
    return client


@pytest.fixture()
def people(make_app):
    def make(private: bool):
        app = make_app(RATE_LIMIT_PER_MINUTE=1000, RESULTS_PRIVATE=private)
        return app, {"owner": signed_in(app, "reviewer_a", "reviewer"), "other": signed_in(app, "reviewer_b", "reviewer"),
                     "admin": signed_in(app, "admin_c", "admin"), "anonymous": app.test_client()}
    return make


def status(client, rid: str, fmt: str = "", **kw) -> int:
    return client.get(f"/screen/results/{rid}{fmt}", **kw).status_code


def test_private_results_are_the_owners_and_the_administrators(people):
    app, who = people(private=True)
    rid = screen_as(who["owner"])
    for fmt in FORMATS:
        assert status(who["owner"], rid, fmt) == 200, fmt
        assert status(who["admin"], rid, fmt) == 200, fmt
        assert status(who["other"], rid, fmt) == 404, fmt
        assert status(who["anonymous"], rid, fmt) == 404, fmt
    unknown = who["other"].get("/screen/results/" + "x" * 22)
    assert who["other"].get(f"/screen/results/{rid}").get_data() == unknown.get_data()  # the link's existence is not told
    basic = {"Authorization": "Basic " + base64.b64encode(f"reviewer_a:{PASSWORD}".encode()).decode()}
    assert status(app.test_client(), rid, ".json", headers=basic) == 200  # a script signed in as the owner
    # an anonymous user's result is still read by whoever has the link
    open_rid = screen_as(who["anonymous"])
    assert status(who["other"], open_rid) == 200 and status(app.test_client(), open_rid, ".json") == 200


def test_results_are_links_when_not_private(people):
    app, who = people(private=False)
    rid = screen_as(who["owner"])
    assert all(status(c, rid) == 200 for c in who.values())
    assert app.extensions["services"].db.execute("SELECT owner FROM results WHERE id = ?", (rid,))[0][0] == "reviewer_a"


def big_result(i: int, sites: int = 400) -> list[dict]:
    """A result of the shape screening returns, about 2 MB of JSON: many sites with long hit lists."""
    return [{"site": {"name": f"地块{i}-{s}", "districts": []}, "method": {"data": {"layer_versions": {"500111/redline": "v1"}}},
             "layers": [{"kind": "redline", "hits": [{"name": "红线" + "甲" * 200, "distance_m": float(k)} for k in range(6)]}]}
            for s in range(sites)]


def test_memory_is_bounded_by_size_and_results_are_still_read_back(app):
    budget = 8 * 1024 * 1024
    store = ResultStore(app.extensions["services"].db, retention_days=1, memory_bytes=budget)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    rids = [store.put(big_result(i)) for i in range(20)]
    for rid in rids:  # read back, as 20 result pages would
        store.get(rid)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    one = len(__import__("json").dumps(big_result(0), ensure_ascii=False).encode())
    assert one > budget * 0.15  # each is a sizeable share of the budget: a count bound alone would keep all 20
    assert store.memory_used <= budget and len(store._recent) < 20
    assert held < 3 * budget, f"{held / 2**20:.0f} MB held for a {budget / 2**20:.0f} MB budget"
    assert store.get(rids[0]) == big_result(0)  # evicted from memory, read back from the database whole
    assert store.entry(rids[-1])[1] is None


def test_a_result_larger_than_a_quarter_of_the_budget_is_not_kept(app):
    store = ResultStore(app.extensions["services"].db, retention_days=1, memory_bytes=1024 * 1024)
    rid = store.put(big_result(1, sites=200), owner="someone")
    assert store.memory_used == 0 and rid not in store._recent
    assert store.entry(rid) == (big_result(1, sites=200), "someone")


def test_a_zone_named_by_many_hits_is_stored_once_and_old_rows_still_read():
    import json
    import zlib

    import shapely

    from services import results as stored

    zone = shapely.Polygon([(105.0 + i * 1e-4, 29.0 + (i % 7) * 1e-4) for i in range(500)] + [(105.0, 29.0)]).convex_hull
    sites = [{"site": {"name": f"s{i}"}, "hits": [{"_feature_geometry": zone, "_overlap_geometry": shapely.Point(105, 29 + i)}]}
             for i in range(300)]
    body = stored.dumps(sites)
    raw = zlib.decompress(body)
    assert raw.count(shapely.to_wkb(zone, hex=True).encode()) == 1  # once, not 300 times
    back = stored.loads(body)
    assert back[299]["hits"][0]["_feature_geometry"].equals(zone) and back[299]["hits"][0]["_overlap_geometry"].y == 328
    old = zlib.compress(json.dumps([{"g": {"__geometry_wkb__": shapely.to_wkb(zone, hex=True)}}]).encode())  # before the table
    assert stored.loads(old)[0]["g"].equals(zone)
