"""Settings: defaults, then ZONING_<KEY> environment variables, then explicit overrides,
validated by one JSON Schema (README.md documents each setting; a test checks that)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema

from geo.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent

# Every setting, its type and meaning; README.md documents each one (a test checks that).
CONFIG_SCHEMA = {
    "type": "object",
    "additionalProperties": True,
    "properties": {
        "LAYERS_GPKG": {"type": "string", "description": "GeoPackage with one layer per kind"},
        "PLANS_DIR": {"type": "string", "description": "folder of <adcode>.yaml plan files"},
        "TIANDITU_TK": {"type": ["string", "null"], "description": "天地图 key; enables the 天地图 base maps"},
        "BASEMAP_DEFAULT": {"type": ["string", "null"], "pattern": "^[a-z][a-z0-9_]*$",
                            "description": "base map shown first: context (the shipped offline reference layers, the default), none, osm, "
                                           "tianditu_vec, tianditu_img or the name of one in BASEMAPS"},
        "CONTEXT_BASEMAP": {"type": ["string", "null"], "description": "the offline reference basemap (vector PMTiles); default the shipped one"},
        "BASEMAPS": {"type": "array", "description": "a deployment's own base maps: local tiles (path: .pmtiles, .mbtiles or a z/x/y folder) "
                                                     "or a tile URL template (url, e.g. an intranet 天地图 node)",
                     "items": {"type": "object", "required": ["name", "label"], "additionalProperties": False,
                               "oneOf": [{"required": ["path"]}, {"required": ["url"]}],
                               "properties": {"name": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,39}$"},
                                              "label": {"type": "string", "minLength": 1, "maxLength": 40},
                                              "path": {"type": "string"}, "url": {"type": "string", "pattern": "^https?://"},
                                              "attribution": {"type": "string"}, "subdomains": {"type": "string"},
                                              "max_zoom": {"type": "integer", "minimum": 1, "maximum": 22},
                                              "network": {"type": "string", "maxLength": 10}}}},
        "HOST": {"type": "string"},
        "PORT": {"type": "integer", "minimum": 1, "maximum": 65535},
        "SERVER_THREADS": {"type": "integer", "minimum": 1, "maximum": 256, "description": "request threads of `python app.py` (waitress)"},
        "SERVER_CONNECTION_LIMIT": {"type": "integer", "minimum": 10, "maximum": 100000,
                                    "description": "open connections `python app.py` accepts at once; slow or idle clients beyond it wait"},
        "SCREEN_BUDGET_SECONDS": {"type": "number", "minimum": 0.5, "maximum": 3600,
                                  "description": "seconds the screening of one site may take (web, API and screen-batch); more: 413"},
        "REPAIR_BUDGET_SECONDS": {"type": "number", "minimum": 0.5, "maximum": 600,
                                  "description": "seconds repairing one invalid uploaded polygon may take before the upload is refused"},
        "PUBLISH_REPAIR_BUDGET_SECONDS": {"type": "number", "minimum": 1, "maximum": 3600,
                                          "description": "the same for one polygon of an administrator's layer import"},
        "TRUSTED_PROXIES": {"type": "integer", "minimum": 0, "maximum": 5,
                            "description": "reverse proxies in front that set X-Forwarded-For; 0: the header is ignored (a client could forge it)"},
        "SERVER_CHANNEL_TIMEOUT": {"type": "integer", "minimum": 1, "maximum": 3600,
                                   "description": "seconds a connection may stay without sending or receiving before it is closed"},
        "MAX_UPLOAD_MB": {"type": "integer", "minimum": 1, "maximum": 500, "description": "largest accepted upload"},
        "MAX_UNPACKED_MB": {"type": "integer", "minimum": 1, "maximum": 2000, "description": "largest unpacked archive"},
        "MAX_FEATURES": {"type": "integer", "minimum": 1, "maximum": 100000, "description": "most sites in one request"},
        "MAX_VERTICES": {"type": "integer", "minimum": 4, "maximum": 10000000, "description": "most vertices per site"},
        "MEASUREMENTS_DB": {"type": "string", "description": "SQLite file of section measurements"},
        "RASTER_DIR": {"type": "string", "description": "folder of <adcode>_landcover.tif rasters"},
        "INSTANCE_DIR": {"type": "string", "description": "writable folder: published layers, accounts, audit log"},
        "SECRET_KEY": {"type": ["string", "null"], "description": "session signing key; generated into INSTANCE_DIR when unset"},
        "SESSION_COOKIE_SECURE": {"type": "boolean", "description": "send the session cookie over HTTPS only"},
        "SESSION_IDLE_MINUTES": {"type": "number", "minimum": 1, "maximum": 525600,
                                 "description": "a signed-in session unused this long ends (minutes)"},
        "SESSION_MAX_HOURS": {"type": "number", "minimum": 0.1, "maximum": 8760,
                              "description": "a signed-in session ends this long after the login, used or not (hours)"},
        "VOCABULARY": {"type": "string", "description": "vocabulary file: layer kinds, labels, colours, status words"},
        "RATE_LIMIT_PER_MINUTE": {"type": "integer", "minimum": 1, "maximum": 100000, "description": "uploads and screenings per client per minute"},
        "SHARE_TOLERANCE_PP": {"type": ["number", "null"], "minimum": 0, "maximum": 10,
                               "description": "share tolerance, percentage points; unset: the rounding interval of the stated figure"},
        "AREA_TOLERANCE_PCT": {"type": "number", "minimum": 0, "maximum": 50, "description": "area tolerance, percent"},
        "SHARES_PRECOMPUTE": {"type": "boolean", "description": "compute every district's shares in the background at start-up and after each publish"},
        "VECTOR_TILES_MIN_VERTICES": {"type": ["integer", "null"], "minimum": 0,
                                      "description": "a district's layer with at least this many vertices is drawn from vector tiles cut in the background; 0 or unset: always GeoJSON"},
        "SLIVER_M2": {"type": "number", "minimum": 0, "maximum": 10000,
                      "description": "screening precision, m²: a smaller overlap is boundary contact (边界接触), not involvement; lines: its square root in m"},
        "DATABASE_URL": {"type": ["string", "null"], "pattern": "^postgres(ql)?://",
                         "description": "PostgreSQL/PostGIS database for all state (layers, accounts, audit, results, limits); unset: files in INSTANCE_DIR"},
        "DATABASE_SCHEMA": {"type": "string", "pattern": "^[a-z_][a-z0-9_]{0,62}$", "description": "schema in DATABASE_URL that holds the tables"},
        "DATABASE_POOL_SIZE": {"type": "integer", "minimum": 1, "maximum": 200, "description": "database connections per worker process"},
        "RESULT_RETENTION_DAYS": {"type": "number", "minimum": 1, "maximum": 36500, "description": "how long screening results (their links, PDF, Excel) are kept"},
        "REQUIRE_LOGIN_FOR_SCREENING": {"type": "boolean",
                                        "description": "screening (web form, /api/screen, OGC processes) only for signed-in users; the API then takes HTTP Basic credentials"},
        "RESULTS_PRIVATE": {"type": "boolean",
                            "description": "a signed-in user's screening results are readable by that user and administrators only (others: 404)"},
        "JOB_MAX_SITES": {"type": "integer", "minimum": 1, "maximum": 1000000,
                          "description": "most sites in one batch-screening job of the OGC API (larger batches: flask screen-batch)"},
        "JOB_WORKERS": {"type": "integer", "minimum": 0, "maximum": 32,
                        "description": "threads per process running OGC API – Processes jobs; 0: this process runs none (a `jobs work` worker does)"},
        "PUBLISH_MAX_UPLOAD_MB": {"type": "integer", "minimum": 1, "maximum": 10000, "description": "largest layer file an administrator imports"},
        "PUBLISH_MAX_UNPACKED_MB": {"type": "integer", "minimum": 1, "maximum": 40000, "description": "largest unpacked layer archive"},
        "PUBLISH_MAX_FEATURES": {"type": "integer", "minimum": 1, "maximum": 10000000, "description": "most features in one imported layer"},
        "PUBLISH_MAX_VERTICES": {"type": "integer", "minimum": 4, "maximum": 100000000, "description": "most vertices per imported feature"},
        "PUBLISH_AREA_CHANGE_PCT": {"type": "number", "minimum": 0, "maximum": 1000,
                                    "description": "area change against the replaced layer version that needs an explicit confirmation, percent"},
        "TILING_TOLERANCE_M2": {"type": "number", "minimum": 0, "maximum": 1000000,
                                "description": "importing a zoning layer (环境管控单元): gaps between and overlaps of units larger than this, m², block publishing"},
        "TILING_MAX_UNCOVERED_PCT": {"type": "number", "minimum": 0, "maximum": 100,
                                     "description": "importing a zoning layer: the share of the district its units may leave uncovered at their outer edge, percent"},
    },
}
DEFAULTS = {
    "LAYERS_GPKG": str(ROOT / "data" / "demo.gpkg"),
    "PLANS_DIR": str(ROOT / "data" / "plans"),
    "TIANDITU_TK": None,
    "BASEMAP_DEFAULT": None,
    "CONTEXT_BASEMAP": None,
    "BASEMAPS": [],
    "HOST": "127.0.0.1",
    "PORT": 5000,
    "SERVER_THREADS": 8,
    "SERVER_CONNECTION_LIMIT": 1000,
    "SERVER_CHANNEL_TIMEOUT": 30,
    "TRUSTED_PROXIES": 0,
    "SCREEN_BUDGET_SECONDS": 10,
    "REPAIR_BUDGET_SECONDS": 5,
    "PUBLISH_REPAIR_BUDGET_SECONDS": 120,
    "MAX_UPLOAD_MB": 20,
    "MAX_UNPACKED_MB": 100,
    "MAX_FEATURES": 2000,
    "MAX_VERTICES": 200000,
    "MEASUREMENTS_DB": str(ROOT / "instance" / "measurements.sqlite"),
    "RASTER_DIR": str(ROOT / "data" / "rasters"),
    "INSTANCE_DIR": str(ROOT / "instance"),
    "SECRET_KEY": None,
    "SESSION_COOKIE_SECURE": False,
    "SESSION_IDLE_MINUTES": 480,
    "SESSION_MAX_HOURS": 72,
    "VOCABULARY": str(ROOT / "data" / "vocabulary.yaml"),
    "RATE_LIMIT_PER_MINUTE": 120,
    "SHARE_TOLERANCE_PP": None,
    "AREA_TOLERANCE_PCT": 0.1,
    "SHARES_PRECOMPUTE": True,
    "VECTOR_TILES_MIN_VERTICES": 200_000,
    "PUBLISH_AREA_CHANGE_PCT": 5.0,
    "TILING_TOLERANCE_M2": 100.0,
    "TILING_MAX_UNCOVERED_PCT": 1.0,
    "DATABASE_URL": None,
    "DATABASE_SCHEMA": "zoning",
    "DATABASE_POOL_SIZE": 8,
    "RESULT_RETENTION_DAYS": 365,
    "RESULTS_PRIVATE": False,
    "REQUIRE_LOGIN_FOR_SCREENING": False,
    "SLIVER_M2": 1.0,
    "JOB_WORKERS": 1,
    "JOB_MAX_SITES": 100000,
    "PUBLISH_MAX_UPLOAD_MB": 500,
    "PUBLISH_MAX_UNPACKED_MB": 4000,
    "PUBLISH_MAX_FEATURES": 200000,
    "PUBLISH_MAX_VERTICES": 20000000,
}
ENV_PREFIX = "ZONING_"


def load_config(overrides: dict | None = None) -> dict:
    """Defaults, then ZONING_<KEY> environment variables, then explicit overrides; validated."""
    config = dict(DEFAULTS)
    for key in CONFIG_SCHEMA["properties"]:
        if ENV_PREFIX + key in os.environ:
            value = os.environ[ENV_PREFIX + key]
            kind = CONFIG_SCHEMA["properties"][key].get("type")
            if isinstance(kind, list):  # nullable: an empty value (or "none") leaves the setting unset
                if value.strip().lower() in ("", "none", "null"):
                    config[key] = None
                    continue
                kind = next(k for k in kind if k != "null")
            if kind in ("array", "object"):  # JSON, e.g. ZONING_BASEMAPS='[{"name": "city", "label": "城区", "path": "/srv/city.pmtiles"}]'
                try:
                    config[key] = json.loads(value)
                except ValueError as exc:
                    raise ConfigError("config", key, f"{ENV_PREFIX}{key} 须为 JSON / must be JSON: {exc}") from None
                continue
            config[key] = (int(value) if kind == "integer" else float(value) if kind == "number"
                           else value.lower() in ("1", "true", "yes") if kind == "boolean" else value)
    config.update(overrides or {})
    if (config["BASEMAP_DEFAULT"] or "").startswith("tianditu") and not config.get("TIANDITU_TK"):
        raise ConfigError("config", "BASEMAP_DEFAULT", "天地图底图需要配置 TIANDITU_TK / Tianditu base maps need TIANDITU_TK")
    try:
        jsonschema.validate(config, CONFIG_SCHEMA)
    except jsonschema.ValidationError as exc:
        raise ConfigError("config", "/".join(map(str, exc.absolute_path)) or "(根)", exc.message) from exc
    return config
