"""OGC API – Processes routes under /ogcapi: each calls one function of services/ogc_processes.py.

The job runner (services.ogc_processes.JobRunner) is made when this blueprint is registered; it
starts threads only when a job is submitted or a previous process left jobs queued.
"""
from __future__ import annotations

from urllib.parse import urljoin

import click
from flask import Blueprint, current_app, jsonify, request

from services import ogc_processes
from services.ogc_features import PREFIX
from web.api import json_body
from web.pages import _links
from web.security import api_actor, csrf, rate_limited

bp = Blueprint("ogc_processes", __name__, url_prefix=PREFIX)
BASE64_OVERHEAD = 4 / 3  # a file input arrives base64-encoded in the JSON body


def runner() -> ogc_processes.JobRunner:
    return current_app.extensions["ogc_jobs"]


def base() -> str:
    """The root URL the client used: links in answers (and in results a worker computes later) are absolute."""
    return request.url_root


def absolute_links(app):
    """(result id, base URL) → the absolute links of a stored screening result, also outside any request."""
    def links(rid: str, base_url: str) -> dict:
        with app.test_request_context("/", base_url=base_url):
            return {k: urljoin(base_url, v) for k, v in _links(rid).items()}
    return links


@bp.record_once
def _attach_runner(state) -> None:
    app = state.app
    services = app.extensions["services"]
    app.extensions["ogc_jobs"] = job_runner = ogc_processes.JobRunner(services, absolute_links(app), services.config["JOB_WORKERS"])
    if click.get_current_context(silent=True) is None:  # a server, not a CLI command that would die mid-job
        job_runner.start_if_pending()


@bp.before_app_request
def _pending_jobs() -> None:
    runner().start_if_pending()  # once per process: a server started through `flask run` has no start-up hook


def answer(a: ogc_processes.Answer):
    if isinstance(a.body, (dict, list)):
        resp = jsonify(a.body)
        resp.mimetype = a.mimetype
    else:
        resp = current_app.response_class(a.body, mimetype=a.mimetype)
    resp.status_code = a.status
    resp.headers.update(a.headers)
    return resp


def execution_body():
    """(parsed JSON, raw bytes) of an execute request; the body limit allows a base64 file of MAX_UPLOAD_MB."""
    request.max_content_length = int((current_app.config["MAX_UPLOAD_MB"] * BASE64_OVERHEAD + 1) * 1024 * 1024)
    return json_body(), request.get_data()


@bp.get("/processes")
def processes():
    return jsonify(ogc_processes.process_list(base()))


@bp.get("/processes/<processId>")
def process(processId: str):  # noqa: N803 (the OGC name, as in the API description)
    return jsonify(ogc_processes.process_description(processId, base()))


@bp.post("/processes/<processId>/execution")
@csrf.exempt
@rate_limited("screen")
def execute(processId: str):  # noqa: N803
    return answer(ogc_processes.execute(runner(), processId, *execution_body(), request.headers.get("Prefer"), api_actor(), base()))


@bp.get("/jobs")
def jobs():
    return jsonify(ogc_processes.job_list(runner(), api_actor(), base(), request.args.get("limit")))


@bp.get("/jobs/<jobId>")
def job(jobId: str):  # noqa: N803
    return jsonify(ogc_processes.job_status(runner(), jobId, base()))


@bp.get("/jobs/<jobId>/results")
def job_results(jobId: str):  # noqa: N803
    return answer(ogc_processes.job_results(runner(), jobId, request.args.get("f"), base()))


@bp.delete("/jobs/<jobId>")
@csrf.exempt
def dismiss(jobId: str):  # noqa: N803
    return jsonify(ogc_processes.dismiss(runner(), jobId, base()))
