"""Web layer for accounts and official-data loading: login, import → report → publish, history,
rollback, audit log. Business logic lives in layers/ (versions, layer_import, accounts)."""
from __future__ import annotations

import re
import threading
import time
from functools import wraps
from urllib.parse import urlsplit

import click
from flask.cli import AppGroup
from flask import (Blueprint, Response, abort, current_app, g, redirect, render_template, request, session, url_for)

from geo.errors import DataError
from layers import layer_import
from layers.accounts import ROLES
from layers.catalogue import KINDS
from layers.mapview import build_import_preview_map, render_parts
from layers.versions import DEMO

bp = Blueprint("admin", __name__)
STAGING_TTL_S = 3600


class Staging:
    """Uploads awaiting review, in memory for an hour: nothing reaches disk before publishing."""

    def __init__(self):
        self._items: dict[str, tuple[float, layer_import.StagedImport]] = {}
        self._lock = threading.Lock()

    def put(self, staged):
        with self._lock:
            cutoff = time.time() - STAGING_TTL_S
            self._items = {k: v for k, v in self._items.items() if v[0] > cutoff}
            self._items[staged.token] = (time.time(), staged)

    def get(self, token):
        with self._lock:
            item = self._items.get(token)
        return item[1] if item else None

    def pop(self, token):
        with self._lock:
            self._items.pop(token, None)


def ext(name):
    return current_app.extensions[name]


def current_user() -> dict | None:
    if "user" not in g:
        name = session.get("user")
        g.user = ext("accounts").get(name) if name else None
    return g.user


def login_required(role: str = "reviewer"):
    def decorator(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None:
                if request.path.startswith("/api/"):
                    raise DataError("请先登录", "login required", status=401)
                return redirect(url_for("admin.login", next=request.path))
            if role == "admin" and user["role"] != "admin":
                raise DataError("需要管理员权限", "administrator role required", status=403)
            return fn(*args, **kwargs)
        return wrapper
    return decorator


def safe_next(target: str) -> str | None:
    """A same-site path to go back to after login, or None (no scheme, no host, no control characters)."""
    cleaned = re.sub(r"[\x00-\x1f\x7f]", "", target or "").replace("\\", "/")
    parts = urlsplit(cleaned)
    if not cleaned.startswith("/") or cleaned.startswith("//") or parts.scheme or parts.netloc:
        return None
    return cleaned


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        ext("rate_limit")("login")
        user = ext("accounts").verify(request.form.get("username", ""), request.form.get("password", ""))
        if user:
            session.clear()
            session["user"] = user["username"]
            ext("audit").record(user["username"], "login", "登录", {})
            return redirect(safe_next(request.args.get("next", "")) or url_for("admin.dashboard"))
        error = "用户名或密码错误"
    return render_template("login.html", error=error), (401 if error else 200)


@bp.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("index"))


@bp.get("/admin/")
@login_required("admin")
def dashboard():
    live = ext("live")
    snap = live.get()
    repo = ext("repository")
    current = repo.current_versions()
    rows = [{"adcode": a, "name": p["name"], "kind": k, "kind_name_zh": KINDS[k].name_zh,
             "current": current.get(f"{a}/{k}", DEMO)} for a, p in snap.districts.plans.items() for k in KINDS if k != "district"]
    return render_template("admin.html", rows=rows, history=repo.history(), districts=snap.districts.districts(),
                           kinds={k: v.name_zh for k, v in KINDS.items() if k != "district"}, user=current_user())


@bp.post("/admin/import")
@login_required("admin")
def import_upload():
    snap = ext("live").get()
    adcode, kind = request.form.get("district", ""), request.form.get("kind", "")
    snap.districts.district_summary(adcode)
    if kind not in KINDS or kind == "district":
        raise DataError(f"未知的图层类型：{kind}", f"unknown layer kind {kind}")
    f = request.files.get("file")
    if f is None or not f.filename:
        raise DataError("请选择要导入的文件", "choose a file")
    ext("rate_limit")("import")
    staged = layer_import.stage(f.filename, f.read(), adcode, kind, request.form.get("crs") or None, ext("limits"),
                                current_user()["username"], snap.districts.district_centre_lon(adcode))
    ext("staging").put(staged)
    return redirect(url_for("admin.import_review", token=staged.token), code=303)


def _mapping_from_form(staged) -> dict:
    mapping = layer_import.auto_mapping(staged)
    for attr in KINDS[staged.kind].attributes + ("name",):
        chosen = request.form.get(f"map_{attr}")
        if chosen is not None:
            mapping[attr] = chosen
    return mapping


def _staged_report(token: str, from_form: bool):
    """(staged upload, current snapshot, field mapping, validation report) for a pending import."""
    staged = ext("staging").get(token)
    if staged is None:
        abort(404)
    snap = ext("live").get()
    mapping = _mapping_from_form(staged) if from_form else layer_import.auto_mapping(staged)
    rep = layer_import.report(staged, mapping, snap.districts.store.read("district", staged.adcode).geometry.union_all())
    return staged, snap, mapping, rep


@bp.route("/admin/imports/<token>", methods=["GET", "POST"])
@login_required("admin")
def import_review(token: str):
    staged, snap, _, rep = _staged_report(token, request.method == "POST")
    preview = build_import_preview_map(staged, snap.districts.bounds(staged.adcode))
    return render_template("admin_review.html", report=rep, token=token, map=render_parts(preview),
                           plan=snap.districts.plans[staged.adcode], user=current_user())


@bp.post("/admin/imports/<token>/publish")
@login_required("admin")
def import_publish(token: str):
    staged, _, mapping, rep = _staged_report(token, from_form=True)
    if not rep["ok"]:
        raise DataError("校验未通过，不能发布：" + "；".join(rep["problems"]), "validation failed; nothing was published")
    entry = publish(staged, mapping, current_user()["username"])
    ext("staging").pop(token)
    return redirect(url_for("admin.dashboard", published=entry["id"]), code=303)


def publish(staged, mapping: dict, username: str) -> dict:
    repo, live = ext("repository"), ext("live")
    gdf = layer_import.build_layer(staged, mapping, "pending", username)
    entry = repo.publish(staged.adcode, staged.kind, gdf, {"source_name": staged.source_name, "input_sha256": staged.input_sha256,
                                                          "created_by": username, "mapping": mapping})
    live.reload()
    ext("audit").record(username, "publish", f"发布 {staged.adcode} {KINDS[staged.kind].name_zh} {entry['id']}（{entry['feature_count']} 个要素）",
                        {f"{staged.adcode}/{staged.kind}": entry["id"]}, staged.input_sha256)
    return entry


@bp.post("/admin/rollback")
@login_required("admin")
def rollback():
    adcode, kind, version = request.form.get("district", ""), request.form.get("kind", ""), request.form.get("version", "")
    rollback_to(adcode, kind, version, current_user()["username"])
    return redirect(url_for("admin.dashboard"), code=303)


def rollback_to(adcode: str, kind: str, version: str, username: str):
    try:
        ext("repository").rollback(adcode, kind, version)
    except KeyError:
        raise DataError(f"没有版本 {version[:20]}", f"no version {version[:20]!r} for {adcode}/{kind}", status=404) from None
    ext("live").reload()
    ext("audit").record(username, "rollback", f"回退 {adcode} {KINDS[kind].name_zh if kind in KINDS else kind} 至 {version}",
                        {f"{adcode}/{kind}": version})


@bp.get("/admin/audit")
@login_required("admin")
def audit():
    return render_template("admin_audit.html", entries=ext("audit").entries(), user=current_user())


@bp.get("/admin/audit.csv")
@login_required("admin")
def audit_csv():
    return Response(ext("audit").to_csv(), mimetype="text/csv", headers={"Content-Disposition": 'attachment; filename="audit.csv"'})


# ------------------------------------------------------------------ CLI

users_cli = AppGroup("users", help="账号管理 / accounts")
layers_cli = AppGroup("layers", help="正式图层：导入发布、历史、回退 / official layers")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(list(ROLES)), default="reviewer", show_default=True)
@click.password_option(help="至少 10 位；不提供则交互输入 / at least 10 characters; prompted if omitted")
def users_create(username, role, password):
    """Create an account (password is stored as a scrypt hash)."""
    try:
        ext("accounts").create(username, password, role)
    except DataError as exc:
        raise click.ClickException(exc.message_zh) from None
    click.echo(f"已创建{ROLES[role]} {username}")


@layers_cli.command("publish")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--district", required=True)
@click.option("--kind", required=True, type=click.Choice([k for k in KINDS if k != "district"]))
@click.option("--crs", default=None)
@click.option("--map", "mapping_items", multiple=True, help="attr=源字段，如 name=BHMC")
@click.option("--user", default="cli")
@click.option("--yes", is_flag=True, help="校验通过后直接发布，不再确认")
def layers_publish(path, district, kind, crs, mapping_items, user, yes):
    """Validate a layer file, print the report, and publish it as the new current version."""
    from pathlib import Path

    snap = ext("live").get()
    snap.districts.district_summary(district)
    try:
        staged = layer_import.stage(Path(path).name, Path(path).read_bytes(), district, kind, crs, ext("limits"), user,
                                    snap.districts.district_centre_lon(district))
    except DataError as exc:
        raise click.ClickException(f"{exc.message_zh} / {exc.message_en}") from None
    mapping = layer_import.auto_mapping(staged)
    mapping.update(dict(item.split("=", 1) for item in mapping_items))
    rep = layer_import.report(staged, mapping, snap.districts.store.read("district", district).geometry.union_all())
    click.echo(f"要素 {rep['feature_count']} 个；几何 {rep['geometry_types']}；坐标系 {rep['crs'].get('assumed') or rep['crs'].get('as_read')}；"
               f"融合面积 {rep['dissolved_km2']} km²，占区县 {rep['share_of_district_pct']}%；修复 {len(rep['repaired'])} 个；重复 {len(rep['duplicates'])} 个")
    click.echo(f"字段映射：{rep['mapping']}")
    if not rep["ok"]:
        raise click.ClickException("校验未通过：" + "；".join(rep["problems"]))
    if not yes and not click.confirm("发布？"):
        return
    entry = publish(staged, mapping, user)
    click.echo(f"已发布 {entry['id']}")


@layers_cli.command("rollback")
@click.option("--district", required=True)
@click.option("--kind", required=True)
@click.option("--to", "version", required=True, help="版本号（如 v0002）或 demo")
@click.option("--user", default="cli")
def layers_rollback(district, kind, version, user):
    """Make an earlier version (or the demo layer) current again."""
    try:
        rollback_to(district, kind, version, user)
    except DataError as exc:
        raise click.ClickException(exc.message_zh) from None
    click.echo(f"{district}/{kind} 当前版本：{version}")


@layers_cli.command("history")
@click.option("--district", default=None)
def layers_history(district):
    for v in ext("repository").history(district):
        click.echo(f"{'*' if v['current'] else ' '} {v['id']} {v['adcode']}/{v['kind']} {v['created_at']} {v.get('created_by', '')} "
                   f"{v['feature_count']} 个要素 {v['source_name']}")
