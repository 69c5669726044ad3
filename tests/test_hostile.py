"""The hostile and broken corpus (tests/data/bad): each file gets a 4xx with a clear message,
nothing is left on disk, and the server is still healthy afterwards."""
import io
from pathlib import Path

import pytest

from conftest import ROOT
from test_screening_api import REPAIRED

BAD = ROOT / "tests" / "data" / "bad"
REFUSED = sorted(p.name for p in BAD.iterdir() if p.name not in REPAIRED)


def test_corpus_is_large_enough():
    assert len(list(BAD.iterdir())) >= 30


@pytest.mark.parametrize("name", REFUSED)
def test_every_hostile_upload_is_refused(client, name, tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with open(BAD / name, "rb") as fh:
        resp = client.post("/api/screen", data={"file": (fh, name)})
    assert 400 <= resp.status_code < 500, (name, resp.status_code)
    body = resp.get_json()
    assert body["error"] and body["error_en"] and "Traceback" not in resp.get_data(as_text=True)
    assert list(Path(tmp_path).iterdir()) == []
    assert client.get("/healthz").get_json()["status"] == "ok"


def _nested_collection(depth: int) -> str:
    text = '{"type": "Point", "coordinates": [105.72, 29.70]}'
    for _ in range(depth):
        text = '{"type": "GeometryCollection", "geometries": [' + text + ']}'
    return text


@pytest.mark.parametrize("path", ["/api/screen", "/api/sections/classify"])
def test_json_nested_beyond_the_parser_is_a_400(make_app, path):
    client = make_app(RATE_LIMIT_PER_MINUTE=100_000).test_client()  # not the shared app's screening budget
    deep = "[" * 5000 + "]" * 5000
    resp = client.post(path, data='{"geometry": ' + deep + "}", content_type="application/json")
    assert resp.status_code == 400 and "嵌套层数过多" in resp.get_json()["error"] and resp.get_json()["error_en"]
    upload = client.post("/api/screen", data={"file": (io.BytesIO(('{"type": "FeatureCollection", "features": ' + deep + "}").encode()),
                                                        "deep.geojson")})
    assert upload.status_code == 400 and "嵌套层数过多" in upload.get_json()["error"]
    assert client.get("/healthz").status_code == 200


def test_collections_inside_collections_are_opened_to_their_parts(make_app):
    """KML MultiGeometry in MultiGeometry, GeoJSON collections in collections: the point inside is what is screened."""
    client = make_app(RATE_LIMIT_PER_MINUTE=100_000).test_client()
    plain = client.post("/api/screen", json={"geometry": {"type": "Point", "coordinates": [105.72, 29.70]}}).get_json()
    for depth in (2, 200):
        nested = client.post("/api/screen", data='{"geometry": ' + _nested_collection(depth) + "}", content_type="application/json")
        assert nested.status_code == 200, nested.get_json()
        body = nested.get_json()
        assert body["site"]["site_type"] == "point"
        assert [(layer["kind"], layer["status"]) for layer in body["layers"]] == [(layer["kind"], layer["status"]) for layer in plain["layers"]]
