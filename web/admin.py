"""Accounts and official data in the browser: login, import → report → publish, history,
rollback, measurement import, audit log. The work is done in services.layer_admin and friends."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for

from geo.errors import DataError
from render import maps
from services import air, layer_admin, sections, users
from web.errors import status_of
from web.pages import air_page, sections_page
from web.security import actor, current_user, end_session, login_required, rate_limited, safe_next, start_session

bp = Blueprint("admin", __name__)
MB = 1024 * 1024


def ctx():
    return current_app.extensions["services"]


@bp.url_value_preprocessor
def _layer_import_body_limit(endpoint, values) -> None:
    """An administrator's layer upload may be as large as PUBLISH_MAX_UPLOAD_MB; every other body keeps the
    screening limit. Set before the CSRF check reads the form (url value preprocessors run first)."""
    if endpoint == "admin.import_upload" and request.method == "POST":
        user = current_user()
        if user is not None and user["role"] == "admin":
            request.max_content_length = (ctx().config["PUBLISH_MAX_UPLOAD_MB"] + 1) * MB


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        current_app.extensions["rate_limit"].hit(request.remote_addr or "?", "login")
        user = users.login(ctx(), request.form.get("username", ""), request.form.get("password", ""))
        if user:
            start_session(user)
            home = url_for("admin.dashboard") if user["role"] == "admin" else url_for("pages.my_checks")  # a reviewer has no admin page
            return redirect(safe_next(request.args.get("next", "")) or home)
        error = "用户名或密码错误"
    return render_template("login.html", error=error), (401 if error else 200)


@bp.post("/logout")
def logout():
    end_session()
    return redirect(url_for("pages.index"))


@bp.get("/admin/")
@login_required("admin")
def dashboard():
    return render_template("admin.html", **layer_admin.dashboard(ctx()))


@bp.post("/admin/import")
@login_required("admin")
@rate_limited("import")
def import_upload():
    f = request.files.get("file")
    if f is None or not f.filename:
        raise DataError("请选择要导入的文件", "choose a file")
    listed = request.files.get("admission_list")  # 准入清单（Excel）, for a kind with an admission list
    admission = (listed.filename, listed.read()) if listed is not None and listed.filename else None
    staged = layer_admin.stage(ctx(), actor(), f.filename, f.read(), request.form.get("district", ""), request.form.get("kind", ""),
                               request.form.get("crs"), admission)
    return redirect(url_for("admin.import_review", token=staged.token), code=303)


def _chosen_mapping() -> dict:
    return {k[4:]: v for k, v in request.form.items() if k.startswith("map_")}


@bp.route("/admin/imports/<token>", methods=["GET", "POST"])
@login_required("admin")
def import_review(token: str):
    staged, _, rep = layer_admin.review(ctx(), token, _chosen_mapping())
    snap = ctx().live.get()
    preview = maps.build_import_preview_map(staged, snap.districts.bounds(staged.adcode), ctx().vocab, ctx().basemaps.for_map())
    return render_template("admin_review.html", report=rep, token=token, map=maps.render_parts(preview), plan=snap.districts.plans[staged.adcode])


@bp.post("/admin/imports/<token>/publish")
@login_required("admin")
def import_publish(token: str):
    entry = layer_admin.publish(ctx(), actor(), token, _chosen_mapping(), request.form.get("confirm_change") or None,
                                request.form.get("replaces") or None)
    flash(entry["message_zh"], "ok")
    return redirect(url_for("admin.dashboard"), code=303)


@bp.post("/admin/rollback")
@login_required("admin")
def rollback():
    done = layer_admin.rollback(ctx(), actor(), request.form.get("district", ""), request.form.get("kind", ""), request.form.get("version", ""))
    flash(done["message_zh"], "ok")
    return redirect(url_for("admin.dashboard"), code=303)


def _monitoring_import(adcode: str, importer, page, done_message):
    """A monitoring-data upload from a page form: all or nothing, the page again with the bad rows or what was stored."""
    ctx().live.get().districts.check(adcode)  # 404 before anything is stored
    f = request.files.get("file")
    try:
        if f is None or not f.filename:
            raise DataError("请选择要导入的 CSV 或 Excel 文件", "choose a file")
        done = importer(ctx(), actor(), f.filename, f.read())
    except DataError as exc:
        return page(adcode, status_of(exc), message=exc.message_zh, error=True, bad_rows=exc.details.get("errors", []))
    return page(adcode, message=done_message(done))


@bp.post("/districts/<adcode>/sections/import")
@login_required("admin")
@rate_limited("import")
def sections_import(adcode: str):
    return _monitoring_import(adcode, sections.import_measurements, sections_page,
                              lambda d: f"已导入 {d['n_records']} 条监测记录（{d['n_values']} 个数值），来源：{d['source_name']}")


@bp.post("/districts/<adcode>/air/import")
@login_required("admin")
@rate_limited("import")
def air_import(adcode: str):
    return _monitoring_import(adcode, air.import_measurements, air_page,
                              lambda d: f"已导入{d['resolution_zh']} {d['n_records']} 条记录（{d['n_values']} 个数值，替换原有数值 "
                                        f"{d['n_replaced']} 个），{d['start']} 至 {d['end']}，来源：{d['source_name']}")


@bp.get("/admin/audit")
@login_required("admin")
def audit():
    return render_template("admin_audit.html", entries=ctx().audit.entries())


@bp.get("/admin/audit.csv")
@login_required("admin")
def audit_csv():
    return Response(users.audit_csv(ctx()), mimetype="text/csv", headers={"Content-Disposition": 'attachment; filename="audit.csv"'})

