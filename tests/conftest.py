import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402

SEEDS = ROOT.parent / "shared" / "seeds"
ADCODES = ["500152", "500110", "500235", "500111", "500102"]


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    return create_app({"MEASUREMENTS_DB": str(tmp_path_factory.mktemp("db") / "measurements.sqlite")})


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def service(app):
    return app.extensions["district_service"]
