"""The documentation covers the code, and says nothing the code does not do.

README.md: every setting, every CLI command and subcommand with each of its options, the
district and GeoJSON fields. data/openapi.yaml (served at /api/openapi.json): every JSON route
with its methods and no stale path, every field of real responses, every error status the
tests provoke, and enums that are the vocabulary's words rather than copies of them.
"""
import io
import re

import click
import pytest
import yaml

from conftest import ROOT, admin_client, csrf_token
from geo import vocabulary
from geo.water.table import PARAMETER_KEYS, WATER_BODIES, class_name
from services import exports
from services.config import CONFIG_SCHEMA

README = (ROOT / "README.md").read_text(encoding="utf-8")
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
FLASK_BUILTINS = {"run", "shell", "routes"}


# ---------------------------------------------------------------------------------------------
# README: settings and fields
# ---------------------------------------------------------------------------------------------

def test_settings_are_documented():
    for key in CONFIG_SCHEMA["properties"]:
        assert f"`{key}`" in README, f"setting {key} is not documented in README.md"
        assert f"`ZONING_{key}`" in README, f"environment variable ZONING_{key} is not documented in README.md"


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


# ---------------------------------------------------------------------------------------------
# README: CLI commands and their options
# ---------------------------------------------------------------------------------------------

def _cli_commands(app) -> list[tuple[str, click.Command]]:
    """(name as typed after `flask --app app`, command) for every leaf command; groups are walked."""
    out = []

    def visit(cmd, words):
        if isinstance(cmd, click.Group):
            out.append((" ".join(words), cmd))
            for name, sub in cmd.commands.items():
                visit(sub, words + [name])
        else:
            out.append((" ".join(words), cmd))

    for name, cmd in app.cli.commands.items():
        if name not in FLASK_BUILTINS:
            visit(cmd, [name])
    return out


def _mentions(name: str) -> list[str]:
    """The README text after each `flask --app app <name>`, up to the line end or the next command."""
    segments = []
    for m in re.finditer(r"flask --app app " + re.escape(name) + r"(?![\w-])", README):
        ends = [i for i in (README.find("\n", m.end()), README.find("flask --app app ", m.end())) if i != -1]
        segments.append(README[m.end():min(ends, default=len(README))])
    return segments


def _long_options(cmd: click.Command) -> list[list[str]]:
    """Each option's --names (an option counts as documented if any of its names is)."""
    return [[o for o in p.opts + p.secondary_opts if o.startswith("--")]
            for p in cmd.params if isinstance(p, click.Option) and not p.hidden]


def test_cli_commands_are_found(app):
    names = [name for name, _ in _cli_commands(app)]
    for expected in ("screen", "shares", "sections import", "sections report", "users create",
                     "layers publish", "layers rollback", "layers history"):
        assert expected in names, f"CLI command {expected} is not registered (the docs test walks app.cli.commands)"


def test_every_cli_command_and_option_is_in_the_readme(app):
    missing = []
    for name, cmd in _cli_commands(app):
        if isinstance(cmd, click.Group):
            # a group is documented through its subcommands; its own options must be somewhere
            for names in _long_options(cmd):
                if not any(re.search(re.escape(n) + r"(?![\w-])", README) for n in names):
                    missing.append(f"option {names[0]} of `flask --app app {name}` is not in README.md")
            continue
        segments = _mentions(name)
        if not segments:
            missing.append(f"CLI command `flask --app app {name}` is not in README.md")
            continue
        for names in _long_options(cmd):
            if not any(re.search(r"(?<![\w-])" + re.escape(n) + r"(?![\w-])", s) for n in names for s in segments):
                missing.append(f"option {names[0]} of `flask --app app {name}` is not in README.md next to the command")
    assert missing == [], "\n".join(missing)


# ---------------------------------------------------------------------------------------------
# OpenAPI: routes
# ---------------------------------------------------------------------------------------------

def _spec(client) -> dict:
    return client.get("/api/openapi.json").get_json()


def _openapi_path(rule: str) -> str:
    """Flask's /sections/<path:section_id>/series → OpenAPI's /sections/{section_id}/series."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _app_routes(app) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        routes.setdefault(_openapi_path(rule.rule), set()).update(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    return routes


def _resolve(spec: dict, obj: dict) -> dict:
    while "$ref" in obj:
        target = spec
        for part in obj["$ref"].lstrip("#/").split("/"):
            target = target[part]
        obj = target
    return obj


def test_every_json_route_is_in_the_openapi_description(app, client):
    paths = _spec(client)["paths"]
    missing = []
    for path, methods in sorted(_app_routes(app).items()):
        if not (path.startswith("/api/") or path == "/healthz"):
            continue
        if path not in paths:
            missing.append(f"{'/'.join(sorted(methods)).upper()} {path}: path not in data/openapi.yaml")
            continue
        missing += [f"{m.upper()} {path}: method not in data/openapi.yaml" for m in sorted(methods) if m not in paths[path]]
    assert missing == [], "\n".join(missing)


def test_every_documented_path_exists_in_the_app(app, client):
    spec = _spec(client)
    routes = _app_routes(app)
    stale = []
    for path, item in spec["paths"].items():
        methods = {k for k in item if k in HTTP_METHODS}
        if path not in routes:
            stale.append(f"{path}: documented in data/openapi.yaml but not a route of the app")
            continue
        stale += [f"{m.upper()} {path}: documented but the route does not answer it" for m in sorted(methods - routes[path])]
        for m in methods:
            params = [_resolve(spec, p) for p in item.get("parameters", []) + item[m].get("parameters", [])]
            declared = {p["name"] for p in params if p["in"] == "path"}
            in_path = set(re.findall(r"{([^}]+)}", path))
            stale += [f"{m.upper()} {path}: path parameter {{{n}}} has no parameters entry" for n in sorted(in_path - declared)]
            stale += [f"{m.upper()} {path}: parameter {n} is not in the path" for n in sorted(declared - in_path)]
    assert stale == [], "\n".join(stale)


# ---------------------------------------------------------------------------------------------
# OpenAPI: response fields
# ---------------------------------------------------------------------------------------------

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
        for i, v in enumerate(value):  # every item: rows of one list differ (e.g. share indicators)
            _walk(spec, schema["items"], v, f"{path}[{i}]", missing)


def _schema_of(spec: dict, path: str, method: str, status: int) -> dict:
    op = spec["paths"][path][method]
    assert str(status) in op["responses"], f"{method.upper()} {path} answers {status}, which data/openapi.yaml does not list"
    resp = _resolve(spec, op["responses"][str(status)])
    content = resp.get("content", {})
    media = next((m for m in ("application/json", "application/geo+json") if m in content), None)
    assert media, f"{method.upper()} {path} {status}: no JSON schema in data/openapi.yaml"
    return content[media]["schema"]


def _check(spec: dict, path: str, method: str, resp, missing: list, label: str):
    """Walk a real response against the schema documented for its path, method and status."""
    schema = _schema_of(spec, path, method, resp.status_code)
    _walk(spec, schema, resp.get_json(), label, missing)


def test_screen_response_fields_are_in_the_openapi_description(client):
    spec = client.get("/api/openapi.json").get_json()
    schema = spec["paths"]["/api/screen"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    missing = []
    for name in ("site_dazu_jzd.txt", "site_dazu_gk35_gbk.zip"):
        with open(ROOT / "tests" / "data" / name, "rb") as fh:
            body = client.post("/api/screen", data={"file": (fh, name)}).get_json()
        _walk(spec, schema, body, "response", missing)
    csv_text = "name,lon,lat\n甲,105.70,29.60\n乙,105.60,29.71\n"
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


# each documented GET with the requests that exercise its optional parts
GET_EXAMPLES = {
    "/api/districts/{adcode}/shares": ["/api/districts/500111/shares", "/api/districts/500111/shares?geometry=1"],
    "/api/sections": ["/api/sections?district=500110", "/api/sections"],
    "/api/layers": ["/api/layers"],
    "/api/districts/{adcode}/layers/{kind}/index": ["/api/districts/500111/layers/redline/index"],
    "/api/districts/{adcode}/layers/{kind}/at": ["/api/districts/500111/layers/redline/at?lon=105.7&lat=29.7&tolerance_m=500"],
    "/api/vocabulary": ["/api/vocabulary"],
    "/healthz": ["/healthz"],
    "/api/districts": ["/api/districts"],
    "/api/districts/{adcode}/air": ["/api/districts/500111/air", "/api/districts/500235/air?date=2024-07-01&year=2024"],
    "/api/air/stations": ["/api/air/stations", "/api/air/stations?district=500110"],
    "/api/air/stations/{station_id}/series": ["/api/air/stations/500111-air_station-001/series",
                                              "/api/air/stations/500111-air_station-017/series?end=2025-03-31&days=30"],
    "/api/air/stations/{station_id}/assessment": ["/api/air/stations/500111-air_station-001/assessment?year=2024"],
}


@pytest.mark.parametrize("documented", GET_EXAMPLES)
def test_get_fields_are_in_the_openapi_description(client, documented):
    spec = _spec(client)
    missing = []
    for url in GET_EXAMPLES[documented]:
        resp = client.get(url)
        assert resp.status_code == 200
        _check(spec, documented, "get", resp, missing, url)
    assert missing == [], "\n".join(missing)


def test_section_series_and_classify_fields_are_in_the_openapi_description(client):
    spec = _spec(client)
    missing = []
    ids = [s["id"] for s in client.get("/api/sections?district=500110").get_json()["sections"]]
    for sid in ids[:2]:
        resp = client.get(f"/api/sections/{sid}/series")
        assert resp.status_code == 200
        _check(spec, "/api/sections/{section_id}/series", "get", resp, missing, f"series {sid}")
    for body in ({"water_body": "river", "values": {"DO": 6.2, "CODMn": 3.1, "COD": 18, "BOD5": 3.5, "NH3-N": 0.8, "TP": 0.12, "TN": 1.1, "pH": 7.6}},
                 {"water_body": "湖库", "values": {"TP": 0.3, "pH": 9.5}}):
        resp = client.post("/api/sections/classify", json=body)
        assert resp.status_code == 200
        _check(spec, "/api/sections/classify", "post", resp, missing, "classify")
    assert missing == [], "\n".join(missing)


def test_measurement_import_fields_are_in_the_openapi_description(make_app):
    app = make_app()
    client = admin_client(app)
    spec = _spec(client)
    token = csrf_token(client, "/screen")
    missing = []
    good = "adcode,section,date,DO,NH3-N,TP\n500110,北渡,2026-01-15,7.8,0.4,0.05\n"
    for text in (good, good + "500110,北渡,2026-02-15,7.5,abc,0.05\n"):
        resp = client.post("/api/sections/measurements", data={"file": (io.BytesIO(text.encode()), "m.csv")},
                           headers={"X-CSRFToken": token})
        _check(spec, "/api/sections/measurements", "post", resp, missing, f"import {resp.status_code}")
    assert resp.status_code == 400 and resp.get_json()["details"]["errors"]
    anonymous = app.test_client()
    resp = anonymous.post("/api/sections/measurements", data={"file": (io.BytesIO(good.encode()), "m.csv")},
                          headers={"X-CSRFToken": csrf_token(anonymous, "/screen")})
    assert resp.status_code == 401
    _check(spec, "/api/sections/measurements", "post", resp, missing, "import 401")
    assert missing == [], "\n".join(missing)


def test_air_import_fields_are_in_the_openapi_description(make_app):
    app = make_app()
    client = admin_client(app)
    spec = _spec(client)
    token = csrf_token(client, "/screen")
    missing = []
    good = "站点,日期,PM2.5,PM10\n500111-air_station-001,2023-01-01,30,50\n"
    for text in (good, good + "500111-air_station-001,2023-01-02,abc,50\n"):
        resp = client.post("/api/air/measurements", data={"file": (io.BytesIO(text.encode()), "a.csv")}, headers={"X-CSRFToken": token})
        _check(spec, "/api/air/measurements", "post", resp, missing, f"air import {resp.status_code}")
    assert resp.status_code == 400 and resp.get_json()["details"]["errors"]
    assert missing == [], "\n".join(missing)


def test_error_responses_are_documented(client):
    """Each error a client can provoke is listed for its route and has the Error shape."""
    spec = _spec(client)
    missing = []
    cases = [
        ("/api/districts/{adcode}", "get", client.get("/api/districts/999999")),
        ("/api/districts/{adcode}/layers/{kind}", "get", client.get("/api/districts/500110/layers/nothing")),
        ("/api/districts/{adcode}/layers/{kind}", "get", client.get("/api/districts/500110/layers/redline?display=2")),
        ("/api/districts/{adcode}/shares", "get", client.get("/api/districts/999999/shares")),
        ("/api/districts/{adcode}/shares", "get", client.get("/api/districts/500111/shares?geometry=yes")),
        ("/api/sections", "get", client.get("/api/sections?district=999999")),
        ("/api/sections", "get", client.get("/api/sections?period=2025-13")),
        ("/api/sections/{section_id}/series", "get", client.get("/api/sections/500110:nowhere/series")),
        ("/api/sections/classify", "post", client.post("/api/sections/classify", json={"values": {"Hg": 0.1, "DO": -1}})),
        ("/api/screen", "post", client.post("/api/screen", json={"crs": "EPSG:4490"})),
    ]
    for path, method, resp in cases:
        assert 400 <= resp.status_code < 500, f"{method.upper()} {path}: expected a 4xx, got {resp.status_code}"
        body = resp.get_json()
        assert {"error", "error_en", "status"} <= set(body), f"{method.upper()} {path}: error body {body}"
        _check(spec, path, method, resp, missing, f"{method.upper()} {path} {resp.status_code}")
    assert missing == [], "\n".join(missing)


# ---------------------------------------------------------------------------------------------
# OpenAPI: enums are the vocabulary's words
# ---------------------------------------------------------------------------------------------

def _vocabulary_enums() -> dict[str, list]:
    """components/schemas name → the list its enum must equal."""
    vocab = vocabulary.default()
    labels = {name: [s["label"] for s in words.values()] for name, words in vocab.statuses.items()}
    return {
        "LayerKindKey": list(vocab.kinds),
        "Relation": list(vocab.relations),
        "ShareStatus": labels["share"],
        "TargetStatus": labels["target"],
        "VerdictLevel": labels["verdict"],
        "DataStatusWord": labels["data"],
        "MonitoringLevel": list(vocab.levels),
        "WaterClass": [class_name(i) for i in range(1, 7)],
        "WaterBody": list(WATER_BODIES),
    }


def _enums(node, pointer: str = "#"):
    if isinstance(node, dict):
        if isinstance(node.get("enum"), list):
            yield pointer, node["enum"]
        for key, value in node.items():
            yield from _enums(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _enums(value, f"{pointer}/{i}")


def test_enums_are_the_vocabulary_words():
    spec = yaml.safe_load((ROOT / "data" / "openapi.yaml").read_text(encoding="utf-8"))  # the file as shipped
    schemas = spec["components"]["schemas"]
    wrong = []
    for name, words in _vocabulary_enums().items():
        if name not in schemas:
            wrong.append(f"components/schemas/{name} is missing (its enum must be {words})")
        elif schemas[name].get("enum") != words:
            wrong.append(f"components/schemas/{name} enum is {schemas[name].get('enum')}, the code uses {words}")
    # a hand-copied list anywhere else drifts: it must be a $ref to the schema above
    for pointer, enum in _enums(spec):
        for name, words in _vocabulary_enums().items():
            if pointer != f"#/components/schemas/{name}" and set(enum) & set(words):
                wrong.append(f"{pointer}: enum {enum} copies words of {name}; use $ref #/components/schemas/{name}")
    fmt = next(p for p in spec["paths"]["/screen/results/{rid}.{fmt}"]["get"]["parameters"] if p["name"] == "fmt")
    if fmt["schema"]["enum"] != list(exports.EXPORT_FORMATS):
        wrong.append(f"export formats {fmt['schema']['enum']} ≠ services.exports.EXPORT_FORMATS {list(exports.EXPORT_FORMATS)}")
    geometry_types = [t for types in vocabulary.GEOMETRY_TYPES.values() for t in types]
    documented = schemas["LayerKind"]["properties"]["geometry_types"]["items"]["enum"]
    if sorted(documented) != sorted(geometry_types):
        wrong.append(f"LayerKind.geometry_types enum {documented} ≠ geo.vocabulary.GEOMETRY_TYPES {geometry_types}")
    water_values = sorted(schemas["WaterValues"]["properties"])
    if water_values != sorted(PARAMETER_KEYS):
        wrong.append(f"WaterValues properties {water_values} ≠ geo.water.table.PARAMETER_KEYS {sorted(PARAMETER_KEYS)}")
    assert wrong == [], "\n".join(wrong)
