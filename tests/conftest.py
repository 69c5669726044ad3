import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402

ADCODES = ["500152", "500110", "500235", "500111", "500102"]


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("instance")
    return create_app({"MEASUREMENTS_DB": str(tmp / "measurements.sqlite"), "INSTANCE_DIR": str(tmp)})


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def service(app):
    return app.extensions["services"].live.get().districts


@pytest.fixture()
def make_app(tmp_path):
    """A fresh app with its own writable instance folder (imports, publishes and limits change state)."""
    def make(**overrides):
        return create_app({"MEASUREMENTS_DB": str(tmp_path / "measurements.sqlite"), "INSTANCE_DIR": str(tmp_path), **overrides})
    return make


def csrf_token(client, path: str = "/login") -> str:
    """The CSRF token a page embeds for this client's session (forms are CSRF-protected)."""
    import re

    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def login(client, username: str, password: str):
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_token(client)})


def admin_client(app, username: str = "admin_test"):
    """A test client logged in as a (created if missing) administrator."""
    if app.extensions["services"].accounts.get(username) is None:
        app.extensions["services"].accounts.create(username, "correct horse battery", "admin")
    client = app.test_client()
    assert login(client, username, "correct horse battery").status_code == 302
    return client
