"""The one table from engine exceptions to HTTP statuses, and the error pages and bodies.

API errors are {"error": 中文, "error_en": English, "status": code[, "details"]}; pages show the
Chinese message. No stack trace ever reaches a client.
"""
from __future__ import annotations

from flask import jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from geo import errors
from services.ogc_features import PREFIX as OGC_PREFIX  # the OGC API (Features, Processes): errors as OGC exception documents

STATUS = {
    errors.NotFoundError: 404,
    errors.TooLargeError: 413,
    errors.UnsupportedFormatError: 415,
    errors.ConflictError: 409,
    errors.AuthRequiredError: 401,
    errors.ForbiddenError: 403,
    errors.RateLimitedError: 429,
    errors.UnavailableError: 503,
    errors.DataError: 400,
}
HTTP_ZH = {400: "请求有误", 401: "请先登录", 403: "没有权限", 404: "未找到该页面或资源", 405: "不支持该请求方法",
           413: "上传内容过大（可由设置 MAX_UPLOAD_MB 提高；管理员导入图层的上限为 PUBLISH_MAX_UPLOAD_MB）",
           415: "不支持的内容类型", 429: "请求过于频繁，请稍后再试"}


def status_of(exc: errors.DataError) -> int:
    """The status of the most specific class in the table."""
    return next(STATUS[c] for c in type(exc).__mro__ if c in STATUS)


def body_of(exc: errors.DataError) -> dict:
    out = {"error": exc.message_zh, "error_en": exc.message_en, "status": status_of(exc)}
    if exc.details:
        out["details"] = exc.details
    if getattr(exc, "ogc_type", None):
        out["type"] = exc.ogc_type
    return out


def _answer(body: dict):
    if request.path.startswith("/api/"):
        body.pop("type", None)
        return jsonify(body), body["status"]
    if request.path.startswith(OGC_PREFIX) and request.args.get("f") != "html":
        # OGC API exception (RFC 7807 fields, as OGC API – Processes requires) with the service's own fields alongside
        ogc = {"type": body.pop("type", "about:blank"), "title": body["error"], "status": body["status"], "detail": body["error_en"], **body}
        return jsonify(ogc), body["status"], {"Content-Type": "application/problem+json"}
    return render_template("error.html", message=body["error"], status=body["status"]), body["status"]


def init_app(app) -> None:
    app.register_error_handler(errors.DataError, lambda exc: _answer(body_of(exc)))
    app.register_error_handler(CSRFError, lambda exc: _answer(
        {"error": "表单已过期或缺少 CSRF 令牌，请刷新页面后重试", "error_en": exc.description, "status": 400}))
    app.register_error_handler(HTTPException, lambda exc: _answer(
        {"error": HTTP_ZH.get(exc.code, exc.name), "error_en": exc.description, "status": exc.code}))

    @app.errorhandler(Exception)
    def internal_error(exc: Exception):
        if errors.is_disk_full(exc):  # a file write (a layer version, an export) met a full disk: said, not a bare 500
            app.logger.error("storage full: %s", str(exc)[:200])
            return _answer(body_of(errors.StorageFullError()))
        app.logger.exception("unhandled error")
        return _answer({"error": "服务器内部错误，请联系管理员", "error_en": "internal server error", "status": 500})
