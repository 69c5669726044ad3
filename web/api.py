"""The JSON API (/api/...): each route calls one service and returns its plain data.

/api/screen, /api/sections/classify and /api/air/aqi are stateless (no cookie authority), so they are exempt
from CSRF and audit anonymously; every route here is in data/openapi.yaml (a test checks that).
"""
from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify, request

from geo import project_info
from geo.errors import DataError, UnsupportedFormatError
from services import air, exports, screening, sections, shares
from web.pages import _links
from web.security import actor, api_actor, csrf, login_required, rate_limited

bp = Blueprint("api", __name__, url_prefix="/api")


def ctx():
    return current_app.extensions["services"]


def flag(name: str) -> bool:
    """A 0/1 query parameter; anything else is a 400."""
    raw = request.args.get(name, "0").strip()
    if raw not in ("0", "1", ""):
        raise DataError(f"参数 {name} 只能是 0 或 1，收到：{raw[:40]}", f"parameter {name} must be 0 or 1, got {raw[:40]!r}")
    return raw == "1"


def upload_field() -> tuple[str, bytes]:
    f = request.files.get("file")
    if f is None or not f.filename:
        raise DataError("multipart 请求须包含 file 字段（CSV、Excel 或空间数据文件）", "multipart requests need a 'file' field")
    return f.filename, f.read()


def json_body():
    """The request's JSON (None if it is not JSON); nesting deeper than the parser can follow is a 400, not a 500."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        raise DataError("JSON 嵌套层数过多，无法读取", "the JSON is nested too deeply to read") from None


@bp.get("/districts")
def districts():
    return jsonify([ctx().live.get().districts.public(a) for a in ctx().live.get().districts.plans])


@bp.get("/districts/<adcode>")
def district(adcode: str):
    return jsonify(ctx().live.get().districts.public(adcode))


@bp.get("/layers")
def layer_kinds():
    return jsonify([k.to_dict() for k in ctx().vocab.kinds.values()])


@bp.get("/vocabulary")
def vocabulary():
    return jsonify(ctx().vocab.to_json())


@bp.get("/districts/<adcode>/layers/<kind>")
def layer(adcode: str, kind: str):
    display = flag("display")
    districts = ctx().live.get().districts
    etag = districts.layer_etag(adcode, kind, display)
    fresh = request.if_none_match.contains(etag)  # the client's copy is current: nothing is built or serialised
    body = b"" if fresh else districts.layer_body(adcode, kind, display)  # bytes, or chunks of a heavy layer as they are made
    resp = current_app.response_class(body, mimetype="application/geo+json", status=304 if fresh else 200)
    resp.headers["Cache-Control"] = "no-cache"  # revalidated on every use: a publish changes the data behind the URL
    resp.set_etag(etag)
    return resp if fresh or not isinstance(body, bytes) else resp.make_conditional(request)


@bp.get("/districts/<adcode>/layers/<kind>/index")
def layer_index(adcode: str, kind: str):
    return jsonify(ctx().live.get().districts.layer_index(adcode, kind))


@bp.get("/districts/<adcode>/layers/<kind>/at")
def layer_features_at(adcode: str, kind: str):
    a = request.args
    return current_app.response_class(json.dumps(ctx().live.get().districts.layer_features_at(adcode, kind, a.get("lon"), a.get("lat"), a.get("tolerance_m")),
                                                 ensure_ascii=False), mimetype="application/geo+json")


def screening_actor():
    """Who a /api/screen call is for: the HTTP Basic user (their result, their history), else nobody — never the cookie,
    so a cross-site post cannot screen in a victim's name."""
    return api_actor() if request.authorization is not None else actor(cookie_free=True)


@bp.post("/screen")
@csrf.exempt
@rate_limited("screen")
def screen():
    if request.files:
        run = screening.screen(ctx(), screening_actor(), upload=upload_field(), crs=request.form.get("crs"),
                               district=request.form.get("district"), bands=request.form.get("bands"),
                               csv_mode=request.form.get("csv_mode"), corridor_width_m=request.form.get("corridor_width_m"),
                               project=project_info.from_form(request.form, ctx().vocab.project_fields))
    else:
        payload = json_body()
        if not isinstance(payload, dict):
            raise UnsupportedFormatError("请求体须为 JSON 对象或 multipart 文件上传", "the body must be a JSON object or a multipart upload")
        if "geometry" not in payload:
            raise DataError("请求中缺少 geometry", "the request has no 'geometry'")
        run = screening.screen(ctx(), screening_actor(), geometry=payload["geometry"], crs=payload.get("crs"),
                               district=payload.get("district"), bands=payload.get("bands"), raw=request.get_data(),
                               corridor_width_m=payload.get("corridor_width_m"), project=payload.get("project"))
    return jsonify(exports.response_body(run.results, run.result_id, _links(run.result_id)))


@bp.get("/districts/<adcode>/shares")
def district_shares(adcode: str):
    return jsonify(shares.shares_report(ctx(), actor(), adcode, geometry=flag("geometry")))


@bp.get("/sections")
def sections_list():
    return jsonify(sections.sections_report(ctx(), actor(), request.args.get("district"), request.args.get("period")))


@bp.get("/sections/<path:section_id>/series")
def section_series(section_id: str):
    return jsonify(ctx().live.get().sections.series(section_id))


@bp.post("/sections/classify")
@csrf.exempt
def classify():
    return jsonify(sections.classify(json_body()))


@bp.post("/air/aqi")
@csrf.exempt
def air_aqi():
    return jsonify(air.calculate(json_body()))


@bp.get("/districts/<adcode>/air")
def district_air(adcode: str):
    return jsonify(air.air_report(ctx(), actor(), adcode, request.args.get("date"), request.args.get("year")))


@bp.get("/air/stations")
def air_stations():
    service = ctx().live.get().air
    district = request.args.get("district")
    return jsonify([service.public(s) for s in (service.district_stations(district) if district else service.stations)])


@bp.get("/air/stations/<path:station_id>/series")
def air_station_series(station_id: str):
    return jsonify(ctx().live.get().air.station_series(station_id, request.args.get("year"), request.args.get("end"), request.args.get("days")))


@bp.get("/air/stations/<path:station_id>/assessment")
def air_station_assessment(station_id: str):
    return jsonify(ctx().live.get().air.station_assessment(station_id, request.args.get("year")))


@bp.post("/air/measurements")
@login_required("admin")
@rate_limited("import")
def air_import():
    return jsonify(air.import_measurements(ctx(), actor(), *upload_field()))


@bp.post("/sections/measurements")
@login_required("admin")
@rate_limited("import")
def sections_import():
    return jsonify(sections.import_measurements(ctx(), actor(), *upload_field()))


@bp.get("/openapi.json")
def openapi():
    return jsonify(current_app.extensions["openapi"])
