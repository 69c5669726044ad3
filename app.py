"""Flask adapter over the engine (geo/) and the layer service (layers/).

    python app.py                 # serves the demo data on http://127.0.0.1:5000 with waitress
    flask --app app run           # the same through Flask's development server
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from geo.errors import ConfigError, DataError
from geo.plans import load_plans
from layers.catalogue import KINDS
from layers.mapview import build_district_map, render_parts
from layers.service import DistrictService, NotFound
from layers.store import GeoPackageStore

ROOT = Path(__file__).resolve().parent

# Every setting, its type and meaning; README.md documents each one (a test checks that).
CONFIG_SCHEMA = {
    "type": "object",
    "additionalProperties": True,
    "properties": {
        "LAYERS_GPKG": {"type": "string", "description": "GeoPackage with one layer per kind"},
        "PLANS_DIR": {"type": "string", "description": "folder of <adcode>.yaml plan files"},
        "TIANDITU_TK": {"type": ["string", "null"], "description": "天地图 key; enables the 天地图 base maps"},
        "BASEMAP_DEFAULT": {"enum": ["none", "osm", "tianditu_vec", "tianditu_img"], "description": "base map shown first"},
        "HOST": {"type": "string"},
        "PORT": {"type": "integer", "minimum": 1, "maximum": 65535},
    },
}
DEFAULTS = {
    "LAYERS_GPKG": str(ROOT / "data" / "demo.gpkg"),
    "PLANS_DIR": str(ROOT / "data" / "plans"),
    "TIANDITU_TK": None,
    "BASEMAP_DEFAULT": "none",
    "HOST": "127.0.0.1",
    "PORT": 5000,
}
ENV_PREFIX = "ZONING_"


def load_config(overrides: dict | None = None) -> dict:
    """Defaults, then ZONING_<KEY> environment variables, then explicit overrides; validated."""
    config = dict(DEFAULTS)
    for key in CONFIG_SCHEMA["properties"]:
        if ENV_PREFIX + key in os.environ:
            value = os.environ[ENV_PREFIX + key]
            config[key] = int(value) if CONFIG_SCHEMA["properties"][key].get("type") == "integer" else value
    config.update(overrides or {})
    if config["BASEMAP_DEFAULT"].startswith("tianditu") and not config.get("TIANDITU_TK"):
        raise ConfigError("config", "BASEMAP_DEFAULT", "天地图底图需要配置 TIANDITU_TK / Tianditu base maps need TIANDITU_TK")
    try:
        jsonschema.validate(config, CONFIG_SCHEMA)
    except jsonschema.ValidationError as exc:
        raise ConfigError("config", "/".join(map(str, exc.absolute_path)) or "(根)", exc.message) from exc
    return config


def _flag(name: str) -> bool:
    raw = request.args.get(name, "0").strip().lower()
    if raw in ("1", "true", "yes"):
        return True
    if raw in ("0", "false", "no", ""):
        return False
    raise DataError(f"参数 {name} 只能是 0 或 1，收到：{raw[:40]}", f"parameter {name} must be 0 or 1, got {raw[:40]!r}")


def create_app(config: dict | None = None) -> Flask:
    cfg = load_config(config)
    app = Flask(__name__, static_folder=str(ROOT / "static"), template_folder=str(ROOT / "templates"))
    app.config.update(cfg)
    app.json.ensure_ascii = False
    service = DistrictService(GeoPackageStore(Path(cfg["LAYERS_GPKG"])), load_plans(Path(cfg["PLANS_DIR"])))
    app.extensions["district_service"] = service

    @app.errorhandler(DataError)
    def data_error(exc: DataError):
        return jsonify(exc.to_dict()), exc.status

    @app.errorhandler(NotFound)
    def not_found(exc: NotFound):
        if request.path.startswith("/api/"):
            return jsonify({"error": exc.message_zh, "error_en": exc.message_en, "status": 404}), 404
        return render_template("error.html", message=exc.message_zh, status=404), 404

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith("/api/"):
            return jsonify({"error": HTTP_ZH.get(exc.code, exc.name), "error_en": exc.description, "status": exc.code}), exc.code
        return render_template("error.html", message=HTTP_ZH.get(exc.code, exc.name), status=exc.code), exc.code

    @app.errorhandler(Exception)
    def internal_error(exc: Exception):
        app.logger.exception("unhandled error")
        body = {"error": "服务器内部错误，请联系管理员", "error_en": "internal server error", "status": 500}
        if request.path.startswith("/api/"):
            return jsonify(body), 500
        return render_template("error.html", message=body["error"], status=500), 500

    @app.get("/")
    def index():
        return render_template("index.html", districts=service.districts())

    @app.get("/districts/<adcode>")
    def district_map(adcode: str):
        summary = service.district_summary(adcode)
        m = build_district_map(adcode, summary["plan"], service.bounds(adcode), cfg)
        return render_template("district.html", plan=summary["plan"], map=render_parts(m))

    @app.get("/api/districts")
    def api_districts():
        return jsonify([_public(d) for d in service.districts()])

    @app.get("/api/districts/<adcode>")
    def api_district(adcode: str):
        return jsonify(_public(service.district_summary(adcode)))

    @app.get("/api/layers")
    def api_layer_kinds():
        return jsonify([k.to_dict() for k in KINDS.values()])

    @app.get("/api/districts/<adcode>/layers/<kind>")
    def api_layer(adcode: str, kind: str):
        fc = service.layer_geojson(adcode, kind, _flag("display"))
        resp = app.response_class(json.dumps(fc, ensure_ascii=False, separators=(",", ":")), mimetype="application/geo+json")
        resp.headers["Cache-Control"] = "public, max-age=300"
        return resp

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok", "data": service.store.info()})

    return app


HTTP_ZH = {400: "请求有误", 404: "未找到该页面或资源", 405: "不支持该请求方法", 413: "上传内容过大"}


def _public(summary: dict) -> dict:
    """API view of a district: the documented fields only."""
    return {k: summary[k] for k in ("adcode", "name", "full_name", "area_km2", "area_method", "plan", "data_version")}


if __name__ == "__main__":
    from waitress import serve

    application = create_app()
    host, port = application.config["HOST"], application.config["PORT"]
    print(f"生态红线一张图：http://{host}:{port}/  (Ctrl+C 停止)")
    serve(application, host=host, port=port, threads=8)
