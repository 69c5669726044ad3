import sys
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer

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


# ---- independent geodesy for expectations (pyproj, not the service's code) ----
GEOD = Geod(ellps="GRS80")
GK35 = 4523  # CGCS2000 3° Gauss-Krüger zone 35 (105°E) with the zone prefix: 大足、潼南
TO_GK = Transformer.from_crs(4490, GK35, always_xy=True)
TO_LL = Transformer.from_crs(GK35, 4490, always_xy=True)


def to_gk(g):
    return shapely.transform(g, lambda xy: np.column_stack(TO_GK.transform(xy[:, 0], xy[:, 1])))


def to_ll(g):
    return shapely.transform(g, lambda xy: np.column_stack(TO_LL.transform(xy[:, 0], xy[:, 1])))


def geodesic_m2(g) -> float:
    return abs(GEOD.geometry_area_perimeter(shapely.orient_polygons(g))[0]) if not g.is_empty else 0.0


def unthrottled_app(tmp_path_factory, name: str = "app"):
    """A module's own app: its many screenings must not use up the shared app's rate limit."""
    tmp = tmp_path_factory.mktemp(name)
    return create_app({"MEASUREMENTS_DB": str(tmp / "measurements.sqlite"), "INSTANCE_DIR": str(tmp), "RATE_LIMIT_PER_MINUTE": 100_000})
