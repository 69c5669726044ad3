"""The hostile and broken corpus (tests/data/bad): each file gets a 4xx with a clear message,
nothing is left on disk, and the server is still healthy afterwards."""
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
