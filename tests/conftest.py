import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app as _create_app  # noqa: E402

ADCODES = ["500152", "500110", "500235", "500111", "500102"]

# The whole suite runs on either backend: unset, the embedded files; ZONING_DATABASE_URL set, PostgreSQL/PostGIS,
# with one schema per instance folder (a restart on the same folder finds the same state, tests never share it).
DATABASE_URL = os.environ.get("ZONING_DATABASE_URL") or None
TEST_SCHEMA_PREFIX = "t_"


def schema_for(instance) -> str:
    return TEST_SCHEMA_PREFIX + hashlib.sha1(str(instance).encode()).hexdigest()[:16]


def backend_env(instance) -> dict:
    """Environment for a subprocess that must see the same state as create_app(INSTANCE_DIR=instance) here."""
    return {"ZONING_DATABASE_URL": DATABASE_URL, "ZONING_DATABASE_SCHEMA": schema_for(instance)} if DATABASE_URL else {}


def create_app(config: dict | None = None):
    config = dict(config or {})
    config.setdefault("SHARES_PRECOMPUTE", False)  # no background work a test did not ask for (tests/test_shares.py turns it on)
    config.setdefault("VECTOR_TILES_MIN_VERTICES", 0)  # nor vector tiles cut (tests/test_layer_tiles.py asks for them)
    if DATABASE_URL and "DATABASE_SCHEMA" not in config and "INSTANCE_DIR" in config:
        config["DATABASE_SCHEMA"] = schema_for(Path(config["INSTANCE_DIR"]))
    return _create_app(config)


def _drop_test_schemas():
    import psycopg

    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        for (name,) in conn.execute("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", (TEST_SCHEMA_PREFIX,)).fetchall():
            conn.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture(scope="session", autouse=True)
def _test_schemas():
    if DATABASE_URL:
        _drop_test_schemas()
    yield
    if DATABASE_URL:
        from state.db import OPEN

        for db in list(OPEN):
            db.close()
        _drop_test_schemas()


@pytest.fixture(autouse=True)
def _close_test_pools():
    """Connection pools of apps made inside one test are closed after it (the server's connection limit)."""
    from state.db import OPEN

    before = set(map(id, OPEN))
    yield
    for db in [d for d in OPEN if id(d) not in before]:
        db.close()


@pytest.fixture()
def postgres_url():
    """A PostGIS database the tests may use whatever the backend (sources for --from-postgis, comparisons)."""
    url = os.environ.get("ZONING_TEST_POSTGRES_URL") or DATABASE_URL
    if not url:
        pytest.skip("需要 PostGIS 数据库：设置 ZONING_TEST_POSTGRES_URL（.ci/postgres 可启动一个）/ set ZONING_TEST_POSTGRES_URL")
    return url


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Worker:
    """`python app.py` (waitress) on its own port, against the test's database schema: a real HTTP server
    for clients that cannot share the test's process (GDAL holds the interpreter while it reads)."""

    def __init__(self, inst, **env):
        self.port = _free_port()
        full = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(inst), "ZONING_PORT": str(self.port),
                "ZONING_INSTANCE_DIR": str(inst), "ZONING_MEASUREMENTS_DB": str(inst / "m.sqlite"),
                "ZONING_RATE_LIMIT_PER_MINUTE": "100000", **backend_env(inst), **env}
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], env=full, cwd=str(ROOT),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=2)
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(self.proc.stderr.read().decode()[-3000:])
                time.sleep(0.3)
        raise RuntimeError("worker did not start")

    def get(self, path) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=60) as resp:
            return json.loads(resp.read())

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def with_healthz_meanwhile(client, heavy):
    """(response, seconds, [/healthz status]) of heavy(), a request that should be refused within its budget, with
    /healthz asked from another thread half a second in: the server must answer it meanwhile."""
    import threading
    import time

    answered = []

    def other():
        time.sleep(0.5)
        answered.append(client.get("/healthz").status_code)

    side = threading.Thread(target=other)
    side.start()
    started = time.monotonic()
    resp = heavy()
    elapsed = time.monotonic() - started
    side.join()
    return resp, elapsed, answered
