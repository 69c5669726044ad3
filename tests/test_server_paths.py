"""No answer tells a caller where the service's files live on the server (a path leaks the
deployment's layout and user names): files are named, never located."""
import pytest

from conftest import ROOT

PAGES = ["/healthz", "/api/districts", "/api/districts/500111", "/api/layers", "/api/vocabulary",
         "/api/districts/500111/shares", "/api/districts/500111/shares?geometry=1", "/api/sections",
         "/districts/500111/shares", "/districts/500111/plan", "/districts/500111/sections", "/"]


@pytest.mark.parametrize("path", PAGES)
def test_no_server_path_in_the_answer(app, client, path):
    response = client.get(path)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    instance = str(app.config["INSTANCE_DIR"])
    for where in (str(ROOT), instance, "/tmp/", "/home/", "/root/"):
        assert where not in text, f"{path} names {where}"
