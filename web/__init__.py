"""The web adapter: configuration, blueprints (public pages, JSON API, administration), the error
table and security, wired onto one Services object. Business rules live in services/."""
from __future__ import annotations

import re
from pathlib import Path

from flask import Flask, g

from geo import crs, vocabulary
from render import report_model
from services.api_description import api_description
from services.config import ROOT
from services.context import Services
from web import admin, api, errors, ogc_processes, ogcapi, pages, security

NUMBER_CELL = re.compile(r"^[\d\s.,%≥≤><*\[\]—±~+-]{1,12}$")


def cell_class(text) -> str:
    """"num" (right-aligned, kept on one line) for a figure such as ≥7.62 or 9.3[3]; "text" (wrapping) for words."""
    return "num" if NUMBER_CELL.match(str(text)) else "text"


def create_app(config: dict | None = None) -> Flask:
    services = Services(config)
    cfg = services.config
    app = Flask("zoning", static_folder=str(ROOT / "static"), template_folder=str(ROOT / "templates"))
    app.config.update(cfg)
    app.config["MAX_CONTENT_LENGTH"] = (cfg["MAX_UPLOAD_MB"] + 1) * 1024 * 1024
    if cfg["TRUSTED_PROXIES"]:  # behind a reverse proxy: rate limits and audit per client, not per proxy
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=cfg["TRUSTED_PROXIES"])
    app.json.ensure_ascii = False
    app.json.sort_keys = False  # fields in the order the service builds them (the API description reads top-down)
    app.extensions["services"] = services
    app.extensions["openapi"] = api_description(services.vocab)
    security.init_app(app, cfg, services)
    errors.init_app(app)
    ui_rules = crs.ui_rules()
    app.add_template_filter(vocabulary.status_css, "status_css")
    app.add_template_filter(vocabulary.geometry_type_zh, "geometry_zh")
    app.add_template_filter(report_model.zh_text, "zh")
    app.add_template_filter(cell_class, "cell_class")
    app.add_template_filter(crs.label_zh, "crs_zh")

    @app.context_processor
    def template_globals():
        return {"csp_nonce": g.get("csp_nonce", ""), "user": security.shown_user(), "vocab": services.vocab, "crs_rules": ui_rules}

    for bp in (pages.bp, api.bp, admin.bp, ogcapi.bp, ogc_processes.bp):
        app.register_blueprint(bp)

    @app.get("/healthz")
    def healthz():
        info = dict(services.live.get().store.info())
        info["path"] = Path(info["path"]).name  # the file, not where it lives on the server
        return {"status": "ok", "data": info, "state": services.db.describe()}

    from cli import register

    register(app)
    return app
