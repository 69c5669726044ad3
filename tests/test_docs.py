"""Every setting and every API field is documented in the README."""
from conftest import ROOT

from services.config import CONFIG_SCHEMA

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


def _walk(spec: dict, schema: dict, value, path: str, missing: list):
    """Every key of value must be described by schema (after $ref / allOf)."""
    while "$ref" in schema:
        target = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        schema = target
    props = dict(schema.get("properties", {}))
    for sub in schema.get("allOf", []):
        while "$ref" in sub:
            t = spec
            for part in sub["$ref"].lstrip("#/").split("/"):
                t = t[part]
            sub = t
        props.update(sub.get("properties", {}))
    if isinstance(value, dict):
        extra = schema.get("additionalProperties")
        for key, v in value.items():
            if key in props:
                _walk(spec, props[key], v, f"{path}.{key}", missing)
            elif isinstance(extra, dict):
                _walk(spec, extra, v, f"{path}.{key}", missing)
            elif extra is not True:
                missing.append(f"{path}.{key}")
    elif isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value[:3]):
            _walk(spec, schema["items"], v, f"{path}[{i}]", missing)


def test_screen_response_fields_are_in_the_openapi_description(client):
    spec = client.get("/api/openapi.json").get_json()
    schema = spec["paths"]["/api/screen"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    missing = []
    for name in ("site_dazu_jzd.txt", "site_dazu_gk35_gbk.zip"):
        with open(ROOT / "tests" / "data" / name, "rb") as fh:
            body = client.post("/api/screen", data={"file": (fh, name)}).get_json()
        _walk(spec, schema, body, "response", missing)
    csv_text = "name,lon,lat\n甲,105.70,29.60\n乙,105.60,29.71\n"
    import io

    body = client.post("/api/screen", data={"file": (io.BytesIO(csv_text.encode()), "p.csv")}).get_json()
    _walk(spec, schema, body, "response", missing)
    assert missing == []


def test_district_and_layer_fields_are_in_the_openapi_description(client):
    spec = client.get("/api/openapi.json").get_json()
    missing = []
    _walk(spec, {"$ref": "#/components/schemas/District"}, client.get("/api/districts/500110").get_json(), "district", missing)
    fc = client.get("/api/districts/500110/layers/redline").get_json()
    _walk(spec, {"$ref": "#/components/schemas/LayerCollection"}, fc, "layer", missing)
    assert missing == []
