"""Public pages: the district list, each district's 一张图, plan sources, shares, sections and air pages,
the screening form, result page and exports. Each view gathers plain data from services and renders."""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, current_app, redirect, render_template, request, send_file, url_for

from geo import project_info
from geo import water as wq
from geo.errors import DataError
from render import maps
from render import air_charts, report_model
from services import air, basemaps, exports, history, page_exports, print_map, screening, sections, shares
from web.errors import status_of
from web.security import actor, api_actor, current_user, login_required, rate_limited

bp = Blueprint("pages", __name__)
BASEMAP_MAX_AGE_S = 86400


def ctx():
    return current_app.extensions["services"]


def _links(rid: str) -> dict:
    links = {fmt: url_for("pages.screen_export", rid=rid, fmt=fmt) for fmt in exports.EXPORT_FORMATS}
    links["html"] = url_for("pages.screen_result", rid=rid)
    return links


@bp.get("/")
def index():
    return render_template("index.html", districts=ctx().live.get().districts.districts(), badges=shares.home_badges(ctx()))


@bp.get("/districts/<adcode>")
def district_map(adcode: str):
    snap = ctx().live.get()
    summary = snap.districts.district_summary(adcode)
    m = maps.build_district_map(adcode, summary["plan"], snap.districts.bounds(adcode), ctx().basemaps.for_map(), ctx().vocab,
                                demo_kinds=snap.districts.demo_kinds(adcode), initials=snap.districts.search_initials(adcode),
                                tiled=snap.layer_tiles.for_map(adcode))
    return render_template("district.html", plan=summary["plan"], map=maps.render_parts(m))


@bp.get("/basemaps/<name>/<int:z>/<int:x>/<int:y>")
@bp.get("/basemaps/<name>/<int:z>/<int:x>/<int:y>.<ext>")
def basemap_tile(name: str, z: int, x: int, y: int, ext: str | None = None):
    return _tile_response(ctx().basemaps.tile(name, z, x, y))


@bp.get("/tiles/layers/<adcode>/<kind>/<key>/<int:z>/<int:x>/<int:y>.mvt")
def layer_tile(adcode: str, kind: str, key: str, z: int, x: int, y: int):
    return _tile_response(ctx().live.get().layer_tiles.tile(adcode, kind, key, z, x, y))


@bp.get("/basemaps/<name>/tiles.json")
def basemap_tilejson(name: str):
    return ctx().basemaps.tilejson(name)


@bp.get("/basemaps/<name>.pmtiles")
def basemap_archive(name: str):
    """The whole archive for PMTiles clients (QGIS, pmtiles.js): HTTP range requests, ETag and Last-Modified."""
    return send_file(ctx().basemaps.archive_path(name), mimetype="application/vnd.pmtiles", conditional=True, max_age=BASEMAP_MAX_AGE_S)


def _tile_response(tile) -> Response:
    if tile is None:  # outside the archive's data: an empty square, not an error
        resp = Response(status=204)
        resp.cache_control.public, resp.cache_control.max_age = True, BASEMAP_MAX_AGE_S
        return resp
    data, gzipped = basemaps.gunzip_if_needed(tile, request.headers.get("Accept-Encoding", ""))
    resp = Response(data, mimetype=tile.content_type)
    if gzipped:
        resp.headers["Content-Encoding"] = "gzip"
    resp.headers["Vary"] = "Accept-Encoding"
    resp.set_etag(tile.etag + ("-gz" if gzipped else ""))
    resp.cache_control.public, resp.cache_control.max_age = True, BASEMAP_MAX_AGE_S
    return resp.make_conditional(request)


@bp.get("/districts/<adcode>/plan")
def district_plan(adcode: str):
    return render_template("plan.html", **ctx().live.get().districts.plan_sources(adcode), share_rules=shares.figure_rules(ctx(), adcode))


@bp.get("/districts/<adcode>/shares")
def district_shares_page(adcode: str):
    snap = ctx().live.get()
    summary = snap.districts.district_summary(adcode)
    result = shares.shares_report(ctx(), actor(), adcode)
    m = maps.build_conflict_map(adcode, result["conflicts"], snap.districts.bounds(adcode), ctx().vocab,
                                redline_is_demo=snap.store.is_demo(adcode, "redline"), basemaps=ctx().basemaps.for_map())
    return render_template("shares.html", plan=summary["plan"], result=result, map=maps.render_parts(m),
                           tolerance_pp=ctx().config["SHARE_TOLERANCE_PP"], area_tolerance_pct=ctx().config["AREA_TOLERANCE_PCT"])


@bp.get("/districts/<adcode>/shares.<fmt>")
@rate_limited("results")
def district_shares_export(adcode: str, fmt: str):
    return _download(*page_exports.render(page_exports.shares_table(ctx(), actor(), adcode), fmt))


@bp.get("/districts/<adcode>/sections.<fmt>")
@rate_limited("results")
def district_sections_export(adcode: str, fmt: str):
    return _download(*page_exports.render(page_exports.sections_table(ctx(), actor(), adcode, request.args.get("period") or None), fmt))


@bp.get("/districts/<adcode>/print.<fmt>")
@rate_limited("results")
def district_print(adcode: str, fmt: str):
    a = request.args
    return _download(*print_map.print_view(ctx(), actor(), adcode, fmt, a.get("bbox"), a.get("layers"), a.get("paper"), a.get("title")))


def _download(content, mimetype: str, filename: str, fallback: str | None = None) -> Response:
    """An attachment named filename (UTF-8, RFC 6266 filename*), with an ASCII name for older clients."""
    ascii_name = fallback or filename
    disposition = f'attachment; filename="{ascii_name}"'
    if filename != ascii_name:
        disposition += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return Response(content, mimetype=mimetype, headers={"Content-Disposition": disposition})


def sections_page(adcode: str, status: int = 200, period: str | None = None, **extra):
    snap = ctx().live.get()
    summary = snap.districts.district_summary(adcode)
    result = sections.sections_report(ctx(), actor(), adcode, period, title="断面水质页面")
    legend = [{"label": f"{c['name']}类（{c['quality']}）", "color": c["color"]} for c in map(wq.class_info, range(1, 7))]
    legend.append({"label": "无数据", "color": "#999999"})
    m = maps.build_sections_map(adcode, result["sections"], snap.districts.bounds(adcode), legend, ctx().vocab, ctx().basemaps.for_map())
    return render_template("sections.html", plan=summary["plan"], result=result, map=maps.render_parts(m), **extra), status


@bp.get("/districts/<adcode>/sections")
def district_sections(adcode: str):
    return sections_page(adcode, period=request.args.get("period") or None)


def air_page(adcode: str, status: int = 200, **extra):
    snap = ctx().live.get()
    summary = snap.districts.district_summary(adcode)
    page = air.air_page(ctx(), actor(), adcode, request.args.get("date"), request.args.get("year"), request.args.get("mode"),
                        request.args.get("station"))
    m = maps.build_air_map(adcode, page["map_rows"], snap.districts.bounds(adcode), page["colour_legend"], ctx().vocab,
                           {"mode": page["mode"], "year": page["year"], "trend_days": air.TREND_DAYS,
                            "page_url": url_for("pages.district_air", adcode=adcode)}, ctx().basemaps.for_map())
    chart = page["station_year"]
    charts = {"trend": air_charts.trend_svg(chart), "calendar": air_charts.calendar_svg(chart, page["year"])} if chart else None
    return render_template("air.html", plan=summary["plan"], page=page, map=maps.render_parts(m), charts=charts, **extra), status


@bp.get("/districts/<adcode>/air")
def district_air(adcode: str):
    return air_page(adcode)


def screen_form_page(status: int = 200, **extra):
    return render_template("screen.html", districts=ctx().live.get().districts.districts(), max_mb=ctx().config["MAX_UPLOAD_MB"],
                           **extra), status


@bp.get("/screen")
def screen_form():
    if ctx().config["REQUIRE_LOGIN_FOR_SCREENING"] and current_user() is None:
        return redirect(url_for("admin.login", next=request.path))
    return screen_form_page()


@bp.post("/screen")
@rate_limited("screen")
def screen_submit():
    f = request.files.get("file")
    try:
        run = screening.screen(ctx(), actor(), upload=(f.filename, f.read()) if f is not None and f.filename else None,
                               text=request.form.get("coordinates"), crs=request.form.get("crs_code") or request.form.get("crs"),
                               district=request.form.get("district"), bands=request.form.get("bands"),
                               csv_mode=request.form.get("csv_mode"), coord_source=request.form.get("coord_source"),
                               corridor_width_m=request.form.get("corridor_width_m"),
                               project=project_info.from_form(request.form, ctx().vocab.project_fields))
    except DataError as exc:
        kept = request.form.to_dict()
        if f is not None and f.filename:
            kept["had_file"] = f.filename[:80]  # a browser cannot be given the file back: the page asks for it again
        return screen_form_page(status_of(exc), error=exc.message_zh, form=kept)
    return redirect(url_for("pages.screen_result", rid=run.result_id), code=303)


@bp.get("/screen/results/<rid>")
@rate_limited("results")
def screen_result(rid: str):
    every = screening.stored_results(ctx(), rid, api_actor())  # HTTP Basic too: a script's job links to these
    paged = exports.page_of(every, request.args.get("page"))
    results = paged["results"]
    store = ctx().live.get().store
    demo_layers = frozenset(f"{d['adcode']}/{k}" for r in results for d in r["site"]["districts"] for k in ctx().vocab.kinds
                            if store.is_demo(d["adcode"], k))
    tiled = {a: ctx().live.get().layer_tiles.for_map(a) for a in {d["adcode"] for r in results for d in r["site"]["districts"]}}
    m = maps.build_result_map(results, exports.overlap_geojson(results), ctx().vocab, demo_layers=demo_layers,
                              basemaps=ctx().basemaps.for_map(), tiled=tiled)
    return render_template("screen_result.html", results=exports.public(results), rid=rid, map=maps.render_parts(m),
                           overview=report_model.overview(results, ctx().vocab, paged["start"]),
                           rerun=screening.rerun_form(every) if paged["page"] == 1 else None, paged=paged,
                           can_rerun=history.can_rerun(ctx(), actor(), rid))


@bp.get("/my/checks")
@login_required()
def my_checks():
    return render_template("my_checks.html", page=history.history(ctx(), actor(), request.args.get("q"), request.args.get("page")),
                           config_retention=ctx().config["RESULT_RETENTION_DAYS"])


@bp.post("/my/checks/<rid>/rerun")
@login_required()
@rate_limited("screen")
def my_check_rerun(rid: str):
    return redirect(url_for("pages.screen_result", rid=history.rerun(ctx(), actor(), rid).result_id), code=303)


@bp.get("/screen/results/<rid>.<fmt>")
@rate_limited("results")
def screen_export(rid: str, fmt: str):
    table = request.args.get("table")
    return _download(*exports.screening_export(ctx(), rid, fmt, _links(rid), request.args.get("encoding"), api_actor(), table),
                     fallback=exports.fallback_name(rid, fmt, table))
