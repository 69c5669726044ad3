"""Flask adapter over the engine (geo/) and the layer service (layers/).

    python app.py                 # serves the demo data on http://127.0.0.1:5000 with waitress
    flask --app app run           # the same through Flask's development server
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import secrets
import threading
import time
from collections import defaultdict, deque
from pathlib import Path

import click
import jsonschema
import yaml
from flask import Flask, Response, g, has_request_context, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

import admin
from layers.accounts import Accounts, AuditLog, Database

from geo import sites as site_input
from geo.errors import ConfigError, DataError
from geo.plans import load_plans
from geo.screening import DEFAULT_BANDS_M
from layers import report
from layers.catalogue import KINDS
from geo import water_quality as wq
from layers.mapview import build_conflict_map, build_district_map, build_result_map, build_sections_map, render_parts
from layers.measurements import MeasurementStore
from layers.screening import (CSV_COLUMNS, ResultCache, batch_rows, overlap_geojson, public, result_rows,
                              screen_sites)
from layers.service import NotFound
from layers.live import LiveData
from layers.versions import LayerRepository

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
        "MAX_UPLOAD_MB": {"type": "integer", "minimum": 1, "maximum": 500, "description": "largest accepted upload"},
        "MAX_UNPACKED_MB": {"type": "integer", "minimum": 1, "maximum": 2000, "description": "largest unpacked archive"},
        "MAX_FEATURES": {"type": "integer", "minimum": 1, "maximum": 100000, "description": "most sites in one request"},
        "MAX_VERTICES": {"type": "integer", "minimum": 4, "maximum": 10000000, "description": "most vertices per site"},
        "MEASUREMENTS_DB": {"type": "string", "description": "SQLite file of section measurements"},
        "RASTER_DIR": {"type": "string", "description": "folder of <adcode>_landcover.tif rasters"},
        "INSTANCE_DIR": {"type": "string", "description": "writable folder: published layers, accounts, audit log"},
        "SECRET_KEY": {"type": ["string", "null"], "description": "session signing key; generated into INSTANCE_DIR when unset"},
        "SESSION_COOKIE_SECURE": {"type": "boolean", "description": "send the session cookie over HTTPS only"},
        "RATE_LIMIT_PER_MINUTE": {"type": "integer", "minimum": 1, "maximum": 100000, "description": "uploads and screenings per client per minute"},
        "SHARE_TOLERANCE_PP": {"type": "number", "minimum": 0, "maximum": 10, "description": "share tolerance, percentage points"},
        "AREA_TOLERANCE_PCT": {"type": "number", "minimum": 0, "maximum": 50, "description": "area tolerance, percent"},
    },
}
DEFAULTS = {
    "LAYERS_GPKG": str(ROOT / "data" / "demo.gpkg"),
    "PLANS_DIR": str(ROOT / "data" / "plans"),
    "TIANDITU_TK": None,
    "BASEMAP_DEFAULT": "none",
    "HOST": "127.0.0.1",
    "PORT": 5000,
    "MAX_UPLOAD_MB": 20,
    "MAX_UNPACKED_MB": 100,
    "MAX_FEATURES": 2000,
    "MAX_VERTICES": 200000,
    "MEASUREMENTS_DB": str(ROOT / "instance" / "measurements.sqlite"),
    "RASTER_DIR": str(ROOT / "data" / "rasters"),
    "INSTANCE_DIR": str(ROOT / "instance"),
    "SECRET_KEY": None,
    "SESSION_COOKIE_SECURE": False,
    "RATE_LIMIT_PER_MINUTE": 120,
    "SHARE_TOLERANCE_PP": 0.05,
    "AREA_TOLERANCE_PCT": 0.1,
}
ENV_PREFIX = "ZONING_"


def load_config(overrides: dict | None = None) -> dict:
    """Defaults, then ZONING_<KEY> environment variables, then explicit overrides; validated."""
    config = dict(DEFAULTS)
    for key in CONFIG_SCHEMA["properties"]:
        if ENV_PREFIX + key in os.environ:
            value = os.environ[ENV_PREFIX + key]
            kind = CONFIG_SCHEMA["properties"][key].get("type")
            config[key] = (int(value) if kind == "integer" else float(value) if kind == "number"
                           else value.lower() in ("1", "true", "yes") if kind == "boolean" else value)
    config.update(overrides or {})
    if config["BASEMAP_DEFAULT"].startswith("tianditu") and not config.get("TIANDITU_TK"):
        raise ConfigError("config", "BASEMAP_DEFAULT", "天地图底图需要配置 TIANDITU_TK / Tianditu base maps need TIANDITU_TK")
    try:
        jsonschema.validate(config, CONFIG_SCHEMA)
    except jsonschema.ValidationError as exc:
        raise ConfigError("config", "/".join(map(str, exc.absolute_path)) or "(根)", exc.message) from exc
    return config


def _flag(name: str) -> bool:
    raw = request.args.get(name, "0").strip()
    if raw == "1":
        return True
    if raw in ("0", ""):
        return False
    raise DataError(f"参数 {name} 只能是 0 或 1，收到：{raw[:40]}", f"parameter {name} must be 0 or 1, got {raw[:40]!r}")


def create_app(config: dict | None = None) -> Flask:
    cfg = load_config(config)
    app = Flask(__name__, static_folder=str(ROOT / "static"), template_folder=str(ROOT / "templates"))
    app.config.update(cfg)
    app.config["MAX_CONTENT_LENGTH"] = (cfg["MAX_UPLOAD_MB"] + 1) * 1024 * 1024
    app.json.ensure_ascii = False
    repo = LayerRepository(Path(cfg["LAYERS_GPKG"]), Path(cfg["INSTANCE_DIR"]) / "layers")
    live = LiveData(repo, load_plans(Path(cfg["PLANS_DIR"])), MeasurementStore(cfg["MEASUREMENTS_DB"]), Path(cfg["RASTER_DIR"]),
                    cfg["SHARE_TOLERANCE_PP"], cfg["AREA_TOLERANCE_PCT"])
    results_cache = ResultCache()
    limits = site_input.Limits(max_upload_bytes=cfg["MAX_UPLOAD_MB"] * 1024 * 1024,
                               max_unpacked_bytes=cfg["MAX_UNPACKED_MB"] * 1024 * 1024,
                               max_features=cfg["MAX_FEATURES"], max_vertices=cfg["MAX_VERTICES"])
    app.extensions["live"] = live
    app.extensions["repository"] = repo
    instance = Path(cfg["INSTANCE_DIR"])
    db = Database(instance / "app.sqlite")
    app.extensions.update(accounts=Accounts(db), audit=AuditLog(db), staging=admin.Staging(), limits=limits,
                          rate_limit=RateLimiter(cfg["RATE_LIMIT_PER_MINUTE"]))
    app.config.update(SECRET_KEY=cfg["SECRET_KEY"] or _instance_secret(instance), SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=cfg["SESSION_COOKIE_SECURE"],
                      WTF_CSRF_TIME_LIMIT=None)
    csrf = CSRFProtect(app)
    app.register_blueprint(admin.bp)
    app.cli.add_command(admin.users_cli)
    app.cli.add_command(admin.layers_cli)
    audit = app.extensions["audit"]
    tile_hosts = "https://tile.openstreetmap.org" + (" https://*.tianditu.gov.cn" if cfg.get("TIANDITU_TK") else "")

    @app.before_request
    def nonce():
        g.csp_nonce = secrets.token_urlsafe(16)

    @app.context_processor
    def template_globals():
        return {"csp_nonce": g.get("csp_nonce", ""), "user": admin.current_user()}

    @app.template_filter("with_nonce")
    def with_nonce(html: str) -> Markup:
        """Folium writes bare <script> blocks; give them this response's CSP nonce."""
        return Markup(re.sub(r"<script>", f'<script nonce="{g.csp_nonce}">', str(html)))

    @app.after_request
    def security_headers(resp):
        resp.headers["Content-Security-Policy"] = (
            f"default-src 'self'; script-src 'self' 'nonce-{g.get('csp_nonce', '')}'; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data: {tile_hosts}; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; "
            "form-action 'self'")
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["Referrer-Policy"] = "same-origin"
        return resp

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        body = {"error": "表单已过期或缺少 CSRF 令牌，请刷新页面后重试", "error_en": exc.description, "status": 400}
        if request.path.startswith("/api/"):
            return jsonify(body), 400
        return render_template("error.html", message=body["error"], status=400), 400

    def record(action: str, summary: str, versions: dict, data: bytes | None = None, anonymous: bool = False):
        """Audit entry; outside a request (CLI) the user is the operating-system account. The
        CSRF-exempt API records no user: a cross-site post would otherwise write in the victim's name."""
        if anonymous:
            user = None
        elif has_request_context():
            user = admin.current_user()
        else:
            user = {"username": f"cli:{os.environ.get('USER', 'unknown')}"}
        audit.record(user["username"] if user else None, action, summary, versions, hashlib.sha256(data).hexdigest() if data else None)

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
        snap = live.get()
        snap.shares.all_districts()  # first visit computes the five districts in parallel; cached afterwards
        return render_template("index.html", districts=snap.districts.districts(), badges={a: snap.shares.badges(a) for a in snap.districts.plans})

    @app.get("/districts/<adcode>")
    def district_map(adcode: str):
        snap = live.get()
        summary = snap.districts.district_summary(adcode)
        demo_kinds = frozenset(k for k in KINDS if snap.store.layer_version(adcode, k).startswith("demo"))
        m = build_district_map(adcode, summary["plan"], snap.districts.bounds(adcode), cfg, demo_kinds=demo_kinds)
        return render_template("district.html", plan=summary["plan"], map=render_parts(m))

    @app.get("/api/districts")
    def api_districts():
        return jsonify([_public(d) for d in live.get().districts.districts()])

    @app.get("/api/districts/<adcode>")
    def api_district(adcode: str):
        return jsonify(_public(live.get().districts.district_summary(adcode)))

    @app.get("/api/layers")
    def api_layer_kinds():
        return jsonify([k.to_dict() for k in KINDS.values()])

    @app.get("/api/districts/<adcode>/layers/<kind>")
    def api_layer(adcode: str, kind: str):
        fc = live.get().districts.layer_geojson(adcode, kind, _flag("display"))
        resp = app.response_class(json.dumps(fc, ensure_ascii=False, separators=(",", ":")), mimetype="application/geo+json")
        # revalidated on every use: a publish or rollback changes the data behind the same URL
        resp.headers["Cache-Control"] = "no-cache"
        resp.set_etag(f"{fc['data_version']}-{adcode}-{kind}-{int(_flag('display'))}")
        return resp.make_conditional(request)

    def run_screening(payload: dict | None, upload, text: str | None, crs_text, district, bands_text,
                      cookie_free: bool = False) -> list[dict]:
        """One entry for the API and the form: parse, convert, screen, all on one data snapshot."""
        app.extensions["rate_limit"]("screen")
        snap = live.get()
        service, screening = snap.districts, snap.screening
        if not isinstance(district, (str, type(None))) or not isinstance(crs_text, (str, type(None))):
            raise DataError("district 与 crs 须为字符串", "district and crs must be strings")
        crs = site_input.parse_crs(crs_text)
        if district:
            service.district_summary(district)  # 404 for an unknown district
        district_lon = service.district_centre_lon(district) if district else None
        bands = _bands(bands_text)
        if upload is not None:
            sites = site_input.sites_from_upload(upload[0], upload[1], crs, limits, district_lon)
        elif text:
            sites = site_input.sites_from_text(text, crs, limits, district_lon)
        elif payload is not None:
            if "geometry" not in payload:
                raise DataError("请求中缺少 geometry", "the request has no 'geometry'")
            sites = site_input.sites_from_geojson(payload["geometry"], crs, limits, district_lon)
        else:
            raise DataError("请上传文件或提供坐标", "upload a file or give coordinates")
        results = screen_sites(screening, sites, bands, district or None)
        raw = upload[1] if upload is not None else text.encode() if text else request.get_data()
        versions = {k: v for r in results for k, v in r["method"]["data"]["layer_versions"].items()}
        record("screen", "；".join(f"{r['site'].get('name') or '项目'}：{r['verdict']['summary']}" for r in results), versions, raw,
               anonymous=cookie_free)
        return results

    def response_body(results: list[dict], rid: str) -> dict:
        body = public(results[0]) if len(results) == 1 else {"sites": public(results)}
        body["result_id"] = rid
        body["links"] = {fmt: url_for("screen_export", rid=rid, fmt=fmt) for fmt in EXPORT_FORMATS}
        body["links"]["html"] = url_for("screen_result", rid=rid)
        return body

    @app.post("/api/screen")
    def api_screen():
        if request.files:
            f = request.files.get("file")
            if f is None or not f.filename:
                raise DataError("multipart 请求须包含 file 字段", "multipart requests need a 'file' field")
            results = run_screening(None, (f.filename, f.read()), None, request.form.get("crs"), request.form.get("district"),
                                    request.form.get("bands"), cookie_free=True)
        else:
            payload = request.get_json(silent=True)
            if not isinstance(payload, dict):
                raise DataError("请求体须为 JSON 对象或 multipart 文件上传", "the body must be a JSON object or a multipart upload", status=415)
            bands = payload.get("bands")
            results = run_screening(payload, None, None, payload.get("crs"), payload.get("district"),
                                    ",".join(map(str, bands)) if isinstance(bands, list) else bands, cookie_free=True)
        return jsonify(response_body(results, results_cache.put(results)))

    csrf.exempt(api_screen)  # a stateless JSON/upload API for scripts; forms below carry CSRF tokens

    @app.get("/screen")
    def screen_form():
        return render_template("screen.html", districts=live.get().districts.districts(), max_mb=cfg["MAX_UPLOAD_MB"])

    @app.post("/screen")
    def screen_submit():
        f = request.files.get("file")
        upload = (f.filename, f.read()) if f is not None and f.filename else None
        crs_text = request.form.get("crs_code") or request.form.get("crs")
        try:
            results = run_screening(None, upload, request.form.get("coordinates"), crs_text, request.form.get("district"),
                                    request.form.get("bands"))
        except DataError as exc:
            return render_template("screen.html", districts=live.get().districts.districts(), max_mb=cfg["MAX_UPLOAD_MB"],
                                   error=exc.message_zh), exc.status
        return redirect(url_for("screen_result", rid=results_cache.put(results)), code=303)

    def cached(rid: str) -> list[dict]:
        results = results_cache.get(rid)
        if results is None:
            raise NotFound("初筛结果不存在或已过期，请重新初筛", f"screening result {rid} not found or expired")
        return results

    @app.get("/screen/results/<rid>")
    def screen_result(rid: str):
        results = cached(rid)
        store = live.get().store
        demo_layers = frozenset(f"{d['adcode']}/{k}" for r in results for d in r["site"]["districts"] for k in KINDS
                                if store.layer_version(d["adcode"], k).startswith("demo"))
        m = build_result_map(results, overlap_geojson(results), demo_layers=demo_layers)
        return render_template("screen_result.html", results=public(results), rid=rid, map=render_parts(m),
                               kind_names={k: v.name_zh for k, v in KINDS.items()})

    @app.get("/screen/results/<rid>.<fmt>")
    def screen_export(rid: str, fmt: str):
        results = cached(rid)
        if fmt not in EXPORT_FORMATS:
            raise NotFound(f"不支持的导出格式：{fmt}", f"unknown export format {fmt}")
        name = f"screening-{rid}"
        if fmt == "json":
            body = json.dumps(response_body(results, rid), ensure_ascii=False, indent=1)
            return Response(body, mimetype="application/json", headers=_attachment(f"{name}.json"))
        if fmt == "geojson":
            return Response(json.dumps(overlap_geojson(results), ensure_ascii=False), mimetype="application/geo+json",
                            headers=_attachment(f"{name}.geojson"))
        if fmt == "csv":
            return Response(rows_to_csv(result_rows(results)), mimetype="text/csv", headers=_attachment(f"{name}.csv"))
        if fmt == "xlsx":
            return Response(rows_to_xlsx(result_rows(results)), headers=_attachment(f"{name}.xlsx"),
                            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        html = render_template("report.html", results=public(results), maps=[report.svg_map(r) for r in results],
                               demo=any(layer["is_demo"] for r in results for layer in r["layers"]),
                               kind_names={k: v.name_zh for k, v in KINDS.items()})
        return Response(report.render_pdf(html), mimetype="application/pdf", headers=_attachment(f"{name}.pdf"))

    @app.cli.command("screen")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    @click.option("--crs", default=None, help="EPSG:4490 | EPSG:4326 | GCJ02 | BD09 | EPSG:<code>; default: detect")
    @click.option("--district", default=None, help="adcode, e.g. 500111")
    @click.option("--out", type=click.Path(dir_okay=False), default=None, help="result.json | .csv | .xlsx | .geojson")
    def screen_cli(path, crs, district, out):
        """Screen the sites in PATH against every layer (选址合规初筛)."""
        data = Path(path).read_bytes()
        crs_value = site_input.parse_crs(crs)
        snap = live.get()
        service, screening = snap.districts, snap.screening
        district_lon = service.district_centre_lon(district) if district else None
        try:
            sites = site_input.sites_from_upload(Path(path).name, data, crs_value, limits, district_lon)
        except DataError as exc:
            raise click.ClickException(f"{exc.message_zh} / {exc.message_en}") from None
        results = []
        if len(sites) > BATCH_MIN_POINTS and all(s.geometry.geom_type == "Point" for s in sites):
            click.echo(f"{len(sites)} 个点位，使用批量引擎（每类图层给出所在或最近要素）")
            rows = []
            chunk = 10_000
            with click.progressbar(range(0, len(sites), chunk), label="初筛", show_pos=True) as bar:
                for start in bar:
                    rows.extend(batch_rows(screening, sites[start:start + chunk]))
            if out and Path(out).suffix.lower() not in (".csv", ".xlsx"):
                raise click.ClickException("批量点位结果请输出为 .csv 或 .xlsx / batch results go to .csv or .xlsx")
        else:
            with click.progressbar(sites, label="初筛", show_pos=True) as bar:
                for site in bar:
                    results.extend(screen_sites(screening, [site], DEFAULT_BANDS_M, district))
            rows = result_rows(results)
            record("screen", "；".join(f"{r['site'].get('name') or '项目'}：{r['verdict']['summary']}" for r in results),
                   {k: v for r in results for k, v in r["method"]["data"]["layer_versions"].items()}, data)
            for r in results:
                click.echo(f"{r['site'].get('name') or '项目'}：{r['verdict']['summary']}")
        if out:
            suffix = Path(out).suffix.lower()
            if suffix == ".csv":
                Path(out).write_text(rows_to_csv(rows), encoding="utf-8")
            elif suffix == ".xlsx":
                Path(out).write_bytes(rows_to_xlsx(rows))
            elif suffix == ".geojson":
                Path(out).write_text(json.dumps(overlap_geojson(results), ensure_ascii=False), encoding="utf-8")
            else:
                body = public(results[0]) if len(results) == 1 else {"sites": public(results)}
                Path(out).write_text(json.dumps(body, ensure_ascii=False, indent=1), encoding="utf-8")
            click.echo(f"已写出 {out}")

    @app.get("/api/districts/<adcode>/shares")
    def api_shares(adcode: str):
        snap = live.get()
        snap.districts.district_summary(adcode)
        result = snap.shares.district(adcode)
        record("shares", _shares_summary(result), _versions(snap, adcode))
        if not _flag("geometry"):
            result = {**result, "conflicts": {k: {kk: vv for kk, vv in v.items() if kk != "geometry"} for k, v in result["conflicts"].items()}}
        return jsonify(result)

    @app.get("/districts/<adcode>/shares")
    def district_shares_page(adcode: str):
        snap = live.get()
        summary = snap.districts.district_summary(adcode)
        result = snap.shares.district(adcode)
        record("shares", _shares_summary(result), _versions(snap, adcode))
        m = build_conflict_map(adcode, result["conflicts"], snap.districts.bounds(adcode),
                               redline_is_demo=snap.store.layer_version(adcode, "redline").startswith("demo"))
        return render_template("shares.html", plan=summary["plan"], result=result, map=render_parts(m),
                               tolerance_pp=cfg["SHARE_TOLERANCE_PP"], area_tolerance_pct=cfg["AREA_TOLERANCE_PCT"],
                               kind_names={k: v.name_zh for k, v in KINDS.items()})

    @app.cli.command("shares")
    @click.option("--district", default=None, help="adcode; default: all districts")
    @click.option("--out", type=click.Path(dir_okay=False), default=None, help="report.xlsx | report.csv")
    def shares_cli(district, out):
        """Area shares against the plans (红线、自然保护地、森林覆盖率) with findings."""
        snap = live.get()
        plans = snap.districts.plans
        adcodes = [district] if district else list(plans)
        rows = []
        for adcode in adcodes:
            snap.districts.district_summary(adcode)
            result = snap.shares.district(adcode)
            for r in result["indicators"]:
                rows.append({"adcode": adcode, "district": plans[adcode]["name"], "indicator": r["indicator"],
                             "name_zh": r["name_zh"], "computed_pct": r["computed_pct"], "plan_pct": r["plan_pct"],
                             "diff_pct_points": r["diff_pct_points"], "status": r["status"], "numerator_m2": r["numerator_m2"],
                             "denominator_m2": r["denominator_m2"], "method": r["method"]})
                pct = f"{r['computed_pct']:.3f}%" if r["computed_pct"] is not None else "—"
                click.echo(f"{plans[adcode]['name']} {r['name_zh']}：计算 {pct}，规划 {r['plan_pct'] if r['plan_pct'] is not None else '—'}，{r['status']}")
            record("shares", _shares_summary(result), _versions(snap, adcode))
            for f in result["findings"]:
                click.echo(f"  · {f['text']}")
        if out:
            columns = list(rows[0])
            Path(out).write_bytes(rows_to_xlsx(rows, columns, "面积占比") if out.lower().endswith(".xlsx")
                                  else rows_to_csv(rows, columns).encode("utf-8"))
            click.echo(f"已写出 {out}")

    @app.get("/api/sections")
    def api_sections():
        result = live.get().sections.section_results(request.args.get("district") or None, request.args.get("period") or None)
        record("sections", f"断面水质 {result['district'] or '全部'} {result['period']}：" + "；".join(
            f"{c['adcode']} {c['name']} {c['status']}" for c in result["plan_indicators"]),
            {"measurements_import": result["data"]["imports"][-1]["import_id"] if result["data"]["imports"] else None})
        return jsonify(result)

    @app.get("/api/sections/<path:section_id>/series")
    def api_section_series(section_id: str):
        return jsonify(live.get().sections.series(section_id))

    @app.post("/api/sections/classify")
    @csrf.exempt
    def api_classify():
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict) or not isinstance(payload.get("values"), dict):
            raise DataError("请求体须为 {\"water_body\": \"river\"|\"lake\", \"values\": {...}}",
                            'body must be {"water_body": "river"|"lake", "values": {...}}')
        return jsonify(wq.classify(payload["values"], payload.get("water_body", "river")))

    def import_measurements(filename: str, data: bytes) -> dict:
        """All-or-nothing import (a DataError lists every bad row), audited with the file's hash."""
        done = live.get().sections.import_file(filename, data)
        record("sections_import", f"导入监测数据 {done['n_records']} 条（{filename}）", {}, data)
        return done

    @app.post("/api/sections/measurements")
    @admin.login_required("admin")
    def api_sections_import():
        f = request.files.get("file")
        if f is None or not f.filename:
            raise DataError("请上传 CSV 或 Excel 文件（字段名 file）", "upload a CSV or Excel file as 'file'")
        app.extensions["rate_limit"]("import")
        return jsonify(import_measurements(f.filename, f.read()))

    def sections_page(adcode: str, period: str | None, status: int = 200, **extra):
        snap = live.get()
        summary = snap.districts.district_summary(adcode)
        result = snap.sections.section_results(adcode, period)
        legend = [{"label": f"{c['name']}类（{c['quality']}）", "color": c["color"]} for c in map(wq.class_info, range(1, 7))]
        legend.append({"label": "无数据", "color": "#999999"})
        m = build_sections_map(adcode, result["sections"], snap.districts.bounds(adcode), legend)
        return render_template("sections.html", plan=summary["plan"], result=result, map=render_parts(m), **extra), status

    @app.get("/districts/<adcode>/sections")
    def district_sections(adcode: str):
        page = sections_page(adcode, request.args.get("period") or None)
        record("sections", f"断面水质页面 {adcode} {request.args.get('period') or '最新月份'}", {})
        return page

    @app.post("/districts/<adcode>/sections/import")
    @admin.login_required("admin")
    def sections_import(adcode: str):
        live.get().districts.district_summary(adcode)  # 404 before anything is stored
        f = request.files.get("file")
        try:
            if f is None or not f.filename:
                raise DataError("请选择要导入的 CSV 或 Excel 文件", "choose a file")
            app.extensions["rate_limit"]("import")
            done = import_measurements(f.filename, f.read())
        except DataError as exc:
            return sections_page(adcode, None, exc.status, message=exc.message_zh, error=True,
                                 bad_rows=exc.details.get("errors", []))
        return sections_page(adcode, None, message=f"已导入 {done['n_records']} 条监测记录（{done['n_values']} 个数值），来源：{done['source_name']}")

    sections_cli = click.Group("sections", help="监测断面：导入监测数据、输出水质报告")
    app.cli.add_command(sections_cli)

    @sections_cli.command("import")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    def sections_import_cli(path):
        """Import measurements (CSV/Excel); a file with any bad row is refused whole."""
        try:
            done = import_measurements(Path(path).name, Path(path).read_bytes())
        except DataError as exc:
            for e in exc.details.get("errors", []):
                click.echo(f"  第 {e['row']} 行 {e['column']}：{e['problem']}", err=True)
            raise click.ClickException(f"{exc.message_zh} / {exc.message_en}") from None
        click.echo(f"已导入 {done['n_records']} 条记录（{done['n_values']} 个数值）")

    @sections_cli.command("report")
    @click.option("--district", default=None, help="adcode")
    @click.option("--period", default=None, help="YYYY-MM; default: latest month")
    @click.option("--out", type=click.Path(dir_okay=False), default=None, help="report.xlsx | report.csv")
    def sections_report_cli(district, period, out):
        """Per-section classes for a month and the district rollup against the plan."""
        result = live.get().sections.section_results(district, period)
        rows = [{"adcode": r["adcode"], "district": r["district"], "section": r["name"], "level": r["level"],
                 "target_class": r["target_class"] or "", "period": r["period"], "class": r["latest_class"] or "",
                 "compliant": {True: "达标", False: "未达标"}.get(r["compliant"], ""),
                 "deciding_parameters": "、".join(r["deciding_parameters"])} for r in result["sections"]]
        for r in rows:
            click.echo(f"{r['district']} {r['section']}（{r['level']}）{r['period']}：{r['class'] or '无数据'}类，目标 {r['target_class'] or '未明确'}，{r['compliant']}")
        record("sections", f"断面水质报告 {district or '全部'} {result['period']}：" + "；".join(
            f"{c['adcode']} {c['name']} {c['status']}" for c in result["plan_indicators"]),
            {"measurements_import": result["data"]["imports"][-1]["import_id"] if result["data"]["imports"] else None})
        for c in result["plan_indicators"]:
            click.echo(f"{c['adcode']} {c['name']}：{c['status']}（{c['reason']}）")
        if out:
            columns = list(rows[0]) if rows else ["section"]
            data = rows_to_xlsx(rows, columns, "断面水质") if out.lower().endswith(".xlsx") else rows_to_csv(rows, columns).encode("utf-8")
            Path(out).write_bytes(data)
            click.echo(f"已写出 {out}")

    openapi = yaml.safe_load((ROOT / "data" / "openapi.yaml").read_text(encoding="utf-8"))

    @app.get("/api/openapi.json")
    def api_openapi():
        return jsonify(openapi)

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok", "data": live.get().store.info()})

    return app


HTTP_ZH = {400: "请求有误", 401: "请先登录", 403: "没有权限", 404: "未找到该页面或资源", 405: "不支持该请求方法", 413: "上传内容过大",
           415: "不支持的内容类型", 429: "请求过于频繁，请稍后再试"}


class RateLimiter:
    """Per-client sliding window for the expensive endpoints (uploads, screening, imports)."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self._hits: dict[tuple[str, str], deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def __call__(self, bucket: str):
        key = (request.remote_addr or "?", bucket)
        now = time.monotonic()
        with self._lock:
            hits = self._hits[key]
            while hits and now - hits[0] > 60:
                hits.popleft()
            if len(hits) >= self.per_minute:
                raise DataError(f"请求过于频繁：每分钟最多 {self.per_minute} 次，请稍后再试",
                                f"rate limit: {self.per_minute} per minute", status=429)
            hits.append(now)


def _instance_secret(instance: Path) -> str:
    """A random session key kept in the instance folder (never in the repository)."""
    path = instance / "secret_key"
    instance.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()
EXPORT_FORMATS = ("json", "geojson", "csv", "xlsx", "pdf")
BATCH_MIN_POINTS = 200  # above this many point sites the CLI uses the vectorised engine


def _bands(text) -> tuple[float, ...]:
    if text is None or str(text).strip() == "":
        return DEFAULT_BANDS_M
    try:
        return tuple(float(b) for b in str(text).replace("，", ",").split(",") if b.strip())
    except ValueError:
        raise DataError("距离分级须为逗号分隔的数字（米），如 0,100,500,1000,5000", "bands must be comma-separated numbers in metres") from None


def _attachment(filename: str) -> dict:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell_text(value):
    """Spreadsheet-safe value: text that Excel would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def rows_to_csv(rows: list[dict], columns=CSV_COLUMNS) -> str:
    buf = io.StringIO()
    buf.write("\ufeff")  # BOM so that Excel opens the Chinese text as UTF-8
    writer = csv.DictWriter(buf, fieldnames=columns)
    writer.writeheader()
    writer.writerows({k: cell_text(v) for k, v in row.items()} for row in rows)
    return buf.getvalue()


def rows_to_xlsx(rows: list[dict], columns=CSV_COLUMNS, title: str = "初筛结果") -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = title
    ws.append(list(columns))
    for row in rows:
        ws.append([cell_text(row[c]) for c in columns])
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _versions(snap, adcode: str) -> dict:
    return {f"{adcode}/{k}": snap.store.layer_version(adcode, k) for k in KINDS}


def _shares_summary(result: dict) -> str:
    return "；".join(f"{r['name_zh']} {r['computed_pct']:.3f}% {r['status']}" for r in result["indicators"]
                    if r["computed_pct"] is not None and ":" not in r["indicator"])


def _public(summary: dict) -> dict:
    """API view of a district: the documented fields only."""
    return {k: summary[k] for k in ("adcode", "name", "full_name", "area_km2", "area_method", "plan", "data_version")}


if __name__ == "__main__":
    from waitress import serve

    application = create_app()
    host, port = application.config["HOST"], application.config["PORT"]
    print(f"生态红线一张图：http://{host}:{port}/  (Ctrl+C 停止)")
    serve(application, host=host, port=port, threads=8)
