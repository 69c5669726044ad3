"""Every setting and every API field is documented in the README."""
from conftest import ROOT

from app import CONFIG_SCHEMA, _public

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_settings_are_documented():
    for key in CONFIG_SCHEMA["properties"]:
        assert f"`{key}`" in README, f"setting {key} is not documented in README.md"
        assert f"`ZONING_{key}`" in README


def test_district_fields_are_documented(client):
    data = client.get("/api/districts").get_json()[0]
    for field in data:
        assert f"`{field}`" in README, f"API field {field} is not documented"


def test_feature_properties_are_documented(client):
    for kind in ("redline", "monitoring_section"):
        fc = client.get(f"/api/districts/500110/layers/{kind}").get_json()
        for field in list(fc) + list(fc["features"][0]["properties"]):
            if field in ("type", "features"):
                continue
            assert f"`{field}`" in README, f"GeoJSON field {field} is not documented"
