"""OGC API – Processes (Part 1 Core 1.0): process descriptions, execution (sync and async) and jobs.

Three processes wrap the services every other adapter calls — screening.screen() and
shares.shares_report() — so an execution is validated, stored and audited exactly as /api/screen
is. Async executions are rows of the jobs table (state/jobs.py): a bounded pool of threads in
this process (JOB_WORKERS) or `flask --app app jobs work` claims them, never a thread per request.
Functions return plain data (dicts, or an Answer with status and headers) for the web adapter.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import PurePosixPath
from typing import Callable

from geo import errors as geo_errors
from geo.errors import DataError, NotFoundError, TooLargeError, UnsupportedFormatError
from geo.uploads import temp_dir
from render.tables import rows_to_csv
from services import batch, exports, screening, shares
from services.context import Actor
from state.jobs import Job, JobStore

log = logging.getLogger(__name__)

CONF = "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/"
CONFORMANCE: list[str] = [CONF + c for c in ("core", "ogc-process-description", "json", "job-list", "dismiss")]
EXC = "http://www.opengis.net/def/exceptions/ogcapi-processes-1/1.0/"
REL = "http://www.opengis.net/def/rel/ogc/1.0/"
LEASE_S = 60.0  # a running job whose worker has not renewed it for this long is claimed again
PROGRESS_INTERVAL_S = 0.5  # progress (and the lease with it) written at most this often
POLL_S = 2.0  # an idle pool thread looks for jobs submitted by other processes this often
MAX_JOBS_LISTED = 1000


class NoSuchProcess(NotFoundError):
    ogc_type = EXC + "no-such-process"


class NoSuchJob(NotFoundError):
    ogc_type = EXC + "no-such-job"


class ResultNotReady(NotFoundError):
    ogc_type = EXC + "result-not-ready"


class JobStopped(Exception):
    """Raised by the progress callback: the job was dismissed (or lost its lease) and must stop now."""


@dataclass
class Answer:
    """A response the web adapter sends as it is: JSON for dict/list bodies, else text with mimetype."""

    body: object
    status: int = 200
    headers: dict = field(default_factory=dict)
    mimetype: str = "application/json"


def iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


# ---------------------------------------------------------------- processes

@dataclass
class Execution:
    """What one run of a process works with: who acts, the request body (hashed for the audit), where links point."""

    ctx: object
    actor: Actor
    raw: bytes
    base_url: str
    links: Callable[[str, str], dict]  # (screening result id, base URL) → absolute links of its page and exports
    progress: Callable[[int], None] | None = None
    job_id: str | None = None

    def expect(self, total: int | None) -> None:
        """How many sites the run will report, for percentages (sync runs report nothing)."""
        if self.progress is not None and total:
            self.progress.total = total


def _link(href: str, media_type: str, title: str) -> dict:
    return {"href": href, "type": media_type, "title": title}


def _json_output(title: str, description: str, media_type: str = "application/json", schema: dict | None = None) -> dict:
    return {"title": title, "description": description, "schema": {**(schema or {"type": "object"}), "contentMediaType": media_type}}


def _link_output(title: str, media_type: str) -> dict:
    return {"title": title, "description": f"{title}的链接 / link to the {media_type} document",
            "schema": {"type": "string", "format": "uri", "contentMediaType": media_type}}


GEOJSON_INPUT = {"oneOf": [{"$ref": "https://geojson.org/schema/Geometry.json"}, {"$ref": "https://geojson.org/schema/Feature.json"},
                           {"$ref": "https://geojson.org/schema/FeatureCollection.json"}]}
COMMON_INPUTS = {
    "crs": {"title": "坐标系 / CRS", "description": "EPSG:4490、EPSG:4326、GCJ02、BD09 或 EPSG:<代码>；不给时按坐标数值判定",
            "schema": {"type": "string", "examples": ["EPSG:4490", "EPSG:4326", "GCJ02", "BD09", "EPSG:4523"]}, "minOccurs": 0, "maxOccurs": 1},
    "district": {"title": "区县 / district", "description": "行政区划代码（adcode），项目须位于该区县内",
                 "schema": {"type": "string", "pattern": "^[0-9]{6}$"}, "minOccurs": 0, "maxOccurs": 1},
    "bands": {"title": "距离分级 / distance bands", "description": "米，1–10 个 0–50000 之间的数，默认 0,100,500,1000,5000",
              "schema": {"type": "array", "items": {"type": "number", "minimum": 0, "maximum": screening.MAX_BAND_M},
                         "minItems": 1, "maxItems": 10}, "minOccurs": 0, "maxOccurs": 1},
}
CORRIDOR_INPUT = {"title": "线路廊道宽度 / corridor width", "description": "米；线状项目另按此宽度的廊道初筛",
                  "schema": {"type": "number", "exclusiveMinimum": 0, "maximum": 5000}, "minOccurs": 0, "maxOccurs": 1}
PROJECT_INPUT = {"title": "项目信息 / project information",
                 "description": "可选：项目名称 name、建设单位 builder、项目类型/行业 industry、项目编号 code、审查人 reviewer、审查日期 review_date"
                                "（YYYY-MM-DD），写入结果与报告（同 POST /api/screen 的 project）",
                 "schema": {"type": "object", "additionalProperties": {"type": "string"}}, "minOccurs": 0, "maxOccurs": 1}
MEDIA_SUFFIX = {  # what a base64 file input is read as when it carries no filename
    "text/csv": ".csv", "application/geo+json": ".geojson", "application/json": ".geojson",
    "application/vnd.google-earth.kml+xml": ".kml", "application/vnd.google-earth.kmz": ".kmz",
    "application/geopackage+sqlite3": ".gpkg", "application/zip": ".zip", "application/x-zip-compressed": ".zip",
    "application/x-shapefile": ".zip", "text/plain": ".txt", "application/vnd.apache.parquet": ".parquet",
    "application/x-parquet": ".parquet", "application/flatgeobuf": ".fgb",
}
FILE_INPUT = {
    "title": "站点文件 / sites file",
    "description": ("base64 编码的文件（OGC qualified value：value、mediaType、encoding=base64，可选 filename）：GeoParquet、FlatGeobuf、"
                    "GeoPackage、GeoJSON、Shapefile 压缩包、坐标 CSV（每行一个站点：经度/纬度两列或 WKT 列）、KML/KMZ、界址点 TXT。"
                    "不接受 href 引用（服务器不代为下载任意地址，以免 SSRF）"),
    "schema": {"type": "string", "contentEncoding": "base64", "contentMediaType": "text/csv"},
    "minOccurs": 1, "maxOccurs": 1,
}


def _site_screening(ex: Execution, inputs: dict) -> tuple[dict, str | None]:
    """The site as GeoJSON (geometry) or as a file (file: Shapefile zip, KML, 界址点 TXT, … as the screening form takes)."""
    options = {"crs": inputs.get("crs"), "district": inputs.get("district"), "bands": inputs.get("bands"),
               "corridor_width_m": inputs.get("corridor_width_m"), "progress": ex.progress, "project": inputs.get("project")}
    if "file" in inputs:
        run = screening.screen(ex.ctx, ex.actor, upload=decode_file(inputs["file"], ex.ctx.limits), **options)
    else:
        geometry = inputs["geometry"]
        ex.expect(len(geometry.get("features") or []) if isinstance(geometry, dict) else len(geometry) if isinstance(geometry, list) else 1)
        run = screening.screen(ex.ctx, ex.actor, geometry=geometry, raw=ex.raw, **options)
    links = ex.links(run.result_id, ex.base_url)
    return {"result": exports.response_body(run.results, run.result_id, links), "overlaps": exports.overlap_geojson(run.results),
            "pdf": _link(links["pdf"], exports.MIME["pdf"], "初筛报告 PDF / screening report"),
            "xlsx": _link(links["xlsx"], exports.MIME["xlsx"], "初筛结果 Excel / screening table")}, run.result_id


def _district_shares(ex: Execution, inputs: dict) -> tuple[dict, str | None]:
    geometry = inputs.get("geometry", True)
    if not isinstance(geometry, bool):
        raise DataError("geometry 须为 true 或 false", "geometry must be true or false")
    return {"result": shares.shares_report(ex.ctx, ex.actor, inputs["adcode"], geometry=geometry)}, None


def decode_file(value, limits) -> tuple[str, bytes]:
    """(filename, bytes) of a base64 qualified value; a reference is refused (the server fetches no URL for anyone)."""
    if not isinstance(value, dict) or "value" not in value:
        raise DataError("file 须为 {\"value\": <base64>, \"mediaType\": …, \"encoding\": \"base64\"} 形式的对象",
                        "file must be a qualified value {\"value\": <base64>, \"mediaType\": ..., \"encoding\": \"base64\"}")
    encoding = value.get("encoding", "base64")
    if encoding != "base64" or not isinstance(value["value"], str):
        raise DataError("file 的 value 须为 base64 编码的字符串（encoding 为 base64）", "file value must be a base64 string (encoding base64)")
    try:
        data = base64.b64decode(re.sub(r"\s+", "", value["value"]), validate=True)
    except (binascii.Error, ValueError):
        raise DataError("file 的 value 不是有效的 base64 编码", "file value is not valid base64") from None
    if len(data) > limits.max_upload_bytes:
        raise TooLargeError(f"文件超过 {limits.max_upload_bytes // (1024 * 1024)} MB", f"the file exceeds {limits.max_upload_bytes} bytes")
    name = value.get("filename")
    if name is not None and (not isinstance(name, str) or not PurePosixPath(name.replace("\\", "/")).name):
        raise DataError("filename 须为文件名字符串", "filename must be a file name")
    if name:
        return PurePosixPath(name.replace("\\", "/")).name[:200], data
    media = str(value.get("mediaType") or "").split(";")[0].strip().lower()
    if media not in MEDIA_SUFFIX:
        raise UnsupportedFormatError(f"无法由 mediaType “{media[:60] or '（未给出）'}”判断文件类型，请给出 filename 或下列之一：{'、'.join(MEDIA_SUFFIX)}",
                                     f"cannot tell the file type from mediaType {media[:60]!r}; give filename or one of {', '.join(MEDIA_SUFFIX)}")
    return "sites" + MEDIA_SUFFIX[media], data


def _batch_screening(ex: Execution, inputs: dict) -> tuple[dict, str | None]:
    """The rows `flask screen-batch` writes, computed in this process (services.batch, the same engine), one per site."""
    filename, data = decode_file(inputs["file"], ex.ctx.limits)
    suffix = PurePosixPath(filename).suffix.lower()
    with temp_dir("batch") as tmp:
        path = tmp / f"sites{suffix}"
        path.write_bytes(data)

        def progress(done: int, total: int) -> None:
            ex.expect(total)
            if ex.progress is not None:
                ex.progress(done - ex.progress.done)

        table, summary = batch.screen_in_process(ex.ctx, ex.actor, path, crs=inputs.get("crs"), bands=inputs.get("bands"),
                                                 progress=progress, max_sites=ex.ctx.config["JOB_MAX_SITES"])
    rows = json.loads(table.to_json(orient="records", force_ascii=False))  # missing values as null
    link = _link(f"{ex.base_url}ogcapi/jobs/{ex.job_id}/results?f=csv", "text/csv", "初筛结果 CSV / screening table")
    return {"rows": rows, "table": link, "summary": summary}, None


@dataclass
class Process:
    id: str
    title: str
    description: str
    inputs: dict
    outputs: dict
    run: Callable[[Execution, dict], tuple[dict, str | None]]
    job_control: tuple[str, ...] = ("sync-execute", "async-execute")
    by_reference: dict = field(default_factory=dict)  # output id → export format its reference is (site-screening)
    version: str = "1.0.0"

    @property
    def transmission(self) -> list[str]:
        return ["value", "reference"] if self.by_reference else ["value"]


PROCESSES = {p.id: p for p in (
    Process("site-screening", "选址合规初筛 / site screening",
            "项目站点（点、线、面）与生态保护红线、饮用水水源保护区、自然保护地等图层的叠加初筛：重叠面积、距离、结论；"
            "与 POST /api/screen 同一服务，结果保存并审计 / screens a site against every layer, as POST /api/screen does",
            {"geometry": {"title": "站点几何 / site geometry", "description": "GeoJSON 几何、Feature 或 FeatureCollection（x 在前）；与 file 二选一",
                          "schema": GEOJSON_INPUT, "minOccurs": 0, "maxOccurs": 1},
             "file": {**FILE_INPUT, "description": "站点文件（与 geometry 二选一）：base64 编码的 Shapefile 压缩包、KML/KMZ、GeoJSON、GeoPackage、"
                                                  "坐标 CSV 或界址点 TXT（同初筛页面的上传），OGC qualified value：value、mediaType、"
                                                  "encoding=base64，可选 filename；不接受 href 引用", "minOccurs": 0},
             **COMMON_INPUTS, "corridor_width_m": CORRIDOR_INPUT, "project": PROJECT_INPUT},
            {"result": _json_output("初筛结果 / screening result", "与 POST /api/screen 的响应相同（链接为绝对地址）"),
             "overlaps": _json_output("重叠部分 GeoJSON / overlaps", "各命中要素与站点的重叠部分（经纬度）", "application/geo+json"),
             "pdf": _link_output("初筛报告 PDF", exports.MIME["pdf"]), "xlsx": _link_output("初筛结果 Excel", exports.MIME["xlsx"])},
            _site_screening, by_reference={"result": "json", "overlaps": "geojson"}),
    Process("district-shares", "区县面积占比 / district shares",
            "区县生态保护红线等面积占比的核对（与 GET /api/districts/<adcode>/shares 相同）/ a district's area shares checked against its plan",
            {"adcode": {"title": "区县 / district", "description": "行政区划代码", "schema": {"type": "string", "pattern": "^[0-9]{6}$"},
                        "minOccurs": 1, "maxOccurs": 1},
             "geometry": {"title": "冲突区几何 / conflict geometry", "description": "是否返回冲突区域的 GeoJSON，默认 true",
                          "schema": {"type": "boolean", "default": True}, "minOccurs": 0, "maxOccurs": 1}},
            {"result": _json_output("面积占比 / shares", "与 GET /api/districts/<adcode>/shares 相同")},
            _district_shares),
    Process("batch-screening", "批量初筛 / batch screening",
            "一个文件中的全部站点（点、线、面）初筛，只异步执行；每个站点一行，与 flask screen-batch 的输出相同：各类图层的结论、"
            "融合后的重叠面积与比例、所在或最近要素及距离、数据覆盖、所用版本、出错原因 / every site of a file, one row each, as screen-batch writes",
            {"file": FILE_INPUT, "crs": COMMON_INPUTS["crs"], "bands": COMMON_INPUTS["bands"]},
            {"rows": _json_output("初筛结果行 / rows", "每个站点一行（字段同 screen-batch 的输出）", schema={"type": "array", "items": {"type": "object"}}),
             "table": _link_output("初筛结果 CSV", "text/csv"),
             "summary": _json_output("汇总 / summary", "站点数、出错数、各结论的数量", schema={"type": "object"})},
            _batch_screening, job_control=("async-execute",)),
)}


def process_of(process_id: str) -> Process:
    if process_id not in PROCESSES:
        raise NoSuchProcess(f"没有名为 {process_id[:60]} 的处理过程（可用：{'、'.join(PROCESSES)}）", f"no such process: {process_id[:60]}")
    return PROCESSES[process_id]


def _summary(p: Process, base: str) -> dict:
    return {"id": p.id, "title": p.title, "description": p.description, "version": p.version, "jobControlOptions": list(p.job_control),
            "outputTransmission": p.transmission,
            "links": [{"href": f"{base}ogcapi/processes/{p.id}", "rel": "self", "type": "application/json", "title": "处理过程说明 / description"},
                      {"href": f"{base}ogcapi/processes/{p.id}/execution", "rel": REL + "execute", "type": "application/json",
                       "title": "执行 / execute"}]}


def process_list(base: str) -> dict:
    return {"processes": [_summary(p, base) for p in PROCESSES.values()],
            "links": [{"href": f"{base}ogcapi/processes", "rel": "self", "type": "application/json", "title": "处理过程 / processes"}]}


def process_description(process_id: str, base: str) -> dict:
    p = process_of(process_id)
    doc = _summary(p, base)
    doc["inputs"] = p.inputs
    doc["outputs"] = p.outputs
    doc["links"].append({"href": f"{base}ogcapi/jobs", "rel": REL + "job-list", "type": "application/json", "title": "作业 / jobs"})
    return doc


# ---------------------------------------------------------------- execution requests

def _plain(name: str, value):
    """An input as given, or the value of a qualified value; a reference (href) is refused."""
    if isinstance(value, dict) and "href" in value and "value" not in value:
        raise DataError(f"输入 {name} 不接受 href 引用：服务器不代为下载任意地址（防止服务器端请求伪造 SSRF），请把内容直接放在请求中"
                        "（文件用 base64 的 value）",
                        f"input {name}: href references are refused — fetching arbitrary URLs server-side is an SSRF risk; "
                        "send the content inline (files as a base64 value)")
    return value


def parse_request(p: Process, payload) -> tuple[dict, dict | None, str]:
    """(inputs, selected outputs or None for all, "document"|"raw") of an execute request, checked against the description."""
    if not isinstance(payload, dict):
        raise UnsupportedFormatError("执行请求须为 JSON 对象 {\"inputs\": {...}}", "the execute request must be a JSON object {\"inputs\": {...}}")
    raw_inputs = payload.get("inputs", {})
    if not isinstance(raw_inputs, dict):
        raise DataError("inputs 须为对象（输入名 → 值）", "inputs must be an object of input id → value")
    unknown = sorted(set(raw_inputs) - set(p.inputs))
    if unknown:
        raise DataError(f"{p.id} 没有输入 {'、'.join(map(str, unknown))[:200]}（可用：{'、'.join(p.inputs)}）",
                        f"unknown inputs for {p.id}: {', '.join(map(str, unknown))[:200]}", {"unknown_inputs": unknown[:20]})
    missing = [k for k, d in p.inputs.items() if d["minOccurs"] and raw_inputs.get(k) is None]
    if missing:
        raise DataError(f"缺少必需的输入：{'、'.join(missing)}", f"missing required inputs: {', '.join(missing)}")
    inputs = {}
    for name, value in raw_inputs.items():
        value = _plain(name, value)
        if name != "file" and isinstance(value, dict) and "value" in value and "type" not in value:
            value = value["value"]  # a qualified value (value + mediaType) of a plain input
        inputs[name] = value
    for name in ("crs", "district", "adcode", "csv_mode"):
        if inputs.get(name) is not None and not isinstance(inputs[name], str):
            raise DataError(f"输入 {name} 须为字符串", f"input {name} must be a string")
    takes_site = p.inputs.get("geometry", {}).get("schema") is GEOJSON_INPUT  # site-screening: a GeoJSON site, or a file
    if takes_site and "geometry" in inputs and not isinstance(inputs["geometry"], (dict, list)):
        raise DataError("geometry 须为 GeoJSON 对象（几何、Feature 或 FeatureCollection）", "geometry must be a GeoJSON object")
    if takes_site and "geometry" not in inputs and "file" not in inputs:
        raise DataError("缺少必需的输入：geometry（GeoJSON）或 file（文件），二者给出其一", "missing required input: geometry or file")
    if takes_site and "geometry" in inputs and "file" in inputs:
        raise DataError("geometry 与 file 只能给出其一", "give geometry or file, not both")
    outputs, response = parse_outputs(p, payload)
    return inputs, outputs, response


def parse_outputs(p: Process, payload: dict) -> tuple[dict | None, str]:
    """(selected outputs or None for all, "document"|"raw") of an execute request."""
    outputs = payload.get("outputs")
    if outputs is not None:
        if not isinstance(outputs, dict):
            raise DataError("outputs 须为对象（输出名 → {transmissionMode}）", "outputs must be an object of output id → options")
        bad = sorted(set(outputs) - set(p.outputs))
        if bad:
            raise DataError(f"{p.id} 没有输出 {'、'.join(map(str, bad))[:200]}（可用：{'、'.join(p.outputs)}）", f"unknown outputs: {bad!r}"[:300])
        for name, spec in outputs.items():
            mode = (spec or {}).get("transmissionMode", "value") if isinstance(spec, dict) else None
            if mode not in p.transmission or (mode == "reference" and name not in p.by_reference):
                raise DataError(f"输出 {name} 不支持传输方式 {mode}（支持：{'、'.join(p.transmission)}）",
                                f"output {name} does not support transmissionMode {mode!r}")
    response = payload.get("response", "document")
    if response not in ("document", "raw"):
        raise DataError("response 须为 document 或 raw", "response must be document or raw")
    if response == "raw" and len(outputs or p.outputs) != 1:
        raise DataError("response 为 raw 时须在 outputs 中只选一个输出", "response raw needs exactly one output selected in outputs")
    return outputs, response


def _answer(p: Process, values: dict, selected: dict | None, response: str, result_links: dict | None) -> Answer:
    """The results of an execution as the request asked: a document of the selected outputs, or one output raw."""
    chosen = {}
    for name in (selected or values):
        if name not in values:
            continue
        mode = (selected or {}).get(name) or {}
        if isinstance(mode, dict) and mode.get("transmissionMode") == "reference" and result_links:
            fmt = p.by_reference[name]
            chosen[name] = _link(result_links[fmt], exports.MIME[fmt], p.outputs[name]["title"])
        else:
            chosen[name] = values[name]
    if response == "raw":
        name, value = next(iter(chosen.items()))
        media = p.outputs[name]["schema"]["contentMediaType"]
        return Answer(value, mimetype=media if media.endswith("json") else "application/json")
    return Answer(chosen)


def _prefers_async(prefer: str | None) -> bool:
    return any(token.strip().lower() == "respond-async" for token in re.split(r"[,;]", prefer or ""))


SCREENING_PROCESSES = ("site-screening", "batch-screening")  # refused to nobody under REQUIRE_LOGIN_FOR_SCREENING


def execute(runner: "JobRunner", process_id: str, payload, raw: bytes, prefer: str | None, actor: Actor, base: str) -> Answer:
    """Run now (200, the results) or queue (201, Location and the job's status) as Prefer and the process allow."""
    p = process_of(process_id)
    if p.id in SCREENING_PROCESSES:
        screening.require_login(runner.ctx, actor)  # before a job is queued, not when it runs
    inputs, selected, response = parse_request(p, payload)
    if "file" in inputs:
        decode_file(inputs["file"], runner.ctx.limits)  # a bad file is a 400 now, not a failed job later
    asked = _prefers_async(prefer)
    if asked or "sync-execute" not in p.job_control:
        job = runner.submit(p.id, raw, actor, base)
        headers = {"Location": f"{base}ogcapi/jobs/{job.id}"}
        if asked:
            headers["Preference-Applied"] = "respond-async"
        return Answer(status_info(job, base), 201, headers)
    ex = Execution(runner.ctx, actor, raw, base, runner.links)
    values, result_id = p.run(ex, inputs)
    return _answer(p, values, selected, response, runner.links(result_id, base) if result_id else None)


# ---------------------------------------------------------------- jobs

def status_info(job: Job, base: str) -> dict:
    url = f"{base}ogcapi/jobs/{job.id}"
    info = {"type": "process", "processID": job.process_id, "jobID": job.id, "status": job.status, "message": job.message,
            "created": iso(job.created_at), "started": iso(job.started_at), "finished": iso(job.finished_at),
            "updated": iso(job.updated_at), "progress": int(job.progress)}
    info = {k: v for k, v in info.items() if v is not None}
    links = [{"href": url, "rel": "self", "type": "application/json", "title": "作业状态 / job status"},
             {"href": f"{base}ogcapi/jobs", "rel": "up", "type": "application/json", "title": "作业列表 / jobs"}]
    if job.status in ("successful", "failed"):
        for rel in ("results", REL + "results"):
            links.append({"href": f"{url}/results", "rel": rel, "type": "application/json", "title": "作业结果 / results"})
    info["links"] = links
    return info


def job_of(runner: "JobRunner", job_id: str) -> Job:
    job = runner.store.get(job_id)
    if job is None:
        raise NoSuchJob("作业不存在或已过期", f"no such job: {str(job_id)[:40]}")
    return job


def job_status(runner: "JobRunner", job_id: str, base: str) -> dict:
    return status_info(job_of(runner, job_id), base)


def job_list(runner: "JobRunner", actor: Actor, base: str, limit: str | None) -> dict:
    """The caller's own jobs (an administrator: everyone's); an anonymous caller sees none, only a note why."""
    try:
        n = int(limit) if limit not in (None, "") else 100
    except ValueError:
        n = 0
    if not 1 <= n <= MAX_JOBS_LISTED:
        raise DataError(f"limit 须为 1–{MAX_JOBS_LISTED} 之间的整数", f"limit must be an integer in 1–{MAX_JOBS_LISTED}")
    doc = {"jobs": [], "links": [{"href": f"{base}ogcapi/jobs", "rel": "self", "type": "application/json", "title": "作业列表 / jobs"}]}
    if actor.username is None:
        doc["note_zh"] = "匿名提交的作业不列出：请用提交时返回的作业地址（Location）查看，或登录 / HTTP Basic 认证后查看自己的作业"
        doc["note_en"] = "anonymous jobs are not listed: use the job URL returned on submission, or authenticate to list your own jobs"
        return doc
    doc["jobs"] = [status_info(j, base) for j in runner.store.list(actor.username, n, everyone=actor.is_admin)]
    return doc


def job_results(runner: "JobRunner", job_id: str, fmt: str | None, base: str) -> Answer:
    """The outputs of a finished job as its request asked (f=csv: a batch job's rows as CSV); a failed job's exception."""
    job = job_of(runner, job_id)
    if job.status == "dismissed":
        raise NoSuchJob("作业已撤销，结果已删除", f"job {job.id} was dismissed; its results are deleted")
    if job.status == "failed":
        err = job.error or {}
        cls = getattr(geo_errors, err.get("class", ""), None)
        if not (isinstance(cls, type) and issubclass(cls, DataError)):
            raise RuntimeError(f"job {job.id} failed: {err.get('detail')}")  # the generic 500 answer, details in the log
        exc = cls(err.get("title", "作业失败"), err.get("detail", "the job failed"), err.get("details"))
        exc.ogc_type = err.get("type")
        raise exc
    if job.status != "successful":
        raise ResultNotReady(f"作业尚未完成（{job.status}，{job.progress}%），请稍后再取结果",
                             f"the job is {job.status} ({job.progress} %); its results are not ready")
    values = runner.store.results(job.id)
    p = process_of(job.process_id)
    if fmt == "csv":
        if "rows" not in values:
            raise DataError("只有 batch-screening 的结果可取为 CSV", "only batch-screening results come as CSV")
        columns = list(values["rows"][0]) if values["rows"] else batch.columns_for(values["summary"]["kinds"])
        return Answer(rows_to_csv(values["rows"], columns), mimetype="text/csv",
                      headers={"Content-Disposition": f'attachment; filename="batch-{job.id}.csv"'})
    if fmt not in (None, "", "json"):
        raise DataError(f"不支持的格式 f={fmt[:20]}（可选 json、csv）", f"unknown format f={fmt[:20]!r}; use json or csv")
    selected, response = parse_outputs(p, json.loads(runner.store.inputs(job.id)))
    return _answer(p, values, selected, response, runner.links(job.result_id, job.base_url) if job.result_id else None)


def dismiss(runner: "JobRunner", job_id: str, base: str) -> dict:
    """Dismissed: a running job stops at its next progress step, its results (and stored screening result) are deleted."""
    found = runner.store.dismiss(job_id)
    if found is None:
        raise NoSuchJob("作业不存在或已过期", f"no such job: {str(job_id)[:40]}")
    job, result_id = found
    runner.dismissed.add(job.id)
    if result_id:
        runner.forget_result(result_id)
    return status_info(job, base)


# ---------------------------------------------------------------- the worker pool

class _Progress:
    """The screen() progress callback of one job: sites done → percent and lease in the database, throttled;
    raises JobStopped once the job is dismissed (this process: at once; another: at the next write)."""

    def __init__(self, runner: "JobRunner", job: Job):
        self.runner, self.job_id = runner, job.id
        self.total: int | None = None
        self.done = 0
        self.last = 0.0

    def __call__(self, n: int) -> None:
        self.done += n
        if self.job_id in self.runner.dismissed:
            raise JobStopped
        now = time.monotonic()
        if now - self.last < PROGRESS_INTERVAL_S:
            return
        self.last = now
        pct = min(99, 5 + int(90 * self.done / self.total)) if self.total else None
        message = f"已初筛 {self.done}" + (f" / {self.total}" if self.total else "") + " 个站点 / sites screened"
        if not self.runner.store.renew(self.job_id, self.runner.worker_id, LEASE_S, pct, message):
            raise JobStopped


class JobRunner:
    """Claims queued jobs and runs them: up to `workers` threads in this process, started on demand and ending once no
    job waits or runs anywhere, plus one thread renewing the leases of the jobs running here."""

    def __init__(self, ctx, links: Callable[[str, str], dict], workers: int):
        self.ctx = ctx
        self.store = JobStore(ctx.db, ctx.config["RESULT_RETENTION_DAYS"])
        self.links = links
        self.workers = workers
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.dismissed: set[str] = set()
        self.running: set[str] = set()
        self._threads: list[threading.Thread] = []
        self._keeper: threading.Thread | None = None
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._kicked = False
        self._stop = threading.Event()
        self._checked = False

    # -- submission and start-up

    def submit(self, process_id: str, raw: bytes, actor: Actor, base: str) -> Job:
        job = self.store.create(process_id, raw, actor.username, actor.role, base)
        self.start()
        return job

    def start(self) -> None:
        """Fill the pool up to `workers` threads (none if 0: another process runs the jobs) and wake idle ones."""
        if self.workers <= 0:
            return
        with self._lock:
            self._stop.clear()
            self._kicked = True
            while len(self._threads) < self.workers:
                t = threading.Thread(target=self._loop, name=f"ogc-jobs-{len(self._threads)}", daemon=True)
                self._threads.append(t)
                t.start()
            if self._keeper is None or not self._keeper.is_alive():
                self._keeper = threading.Thread(target=self._keep_leases, name="ogc-jobs-leases", daemon=True)
                self._keeper.start()
            self._wake.notify_all()

    def start_if_pending(self) -> None:
        """At start-up (once): run what a previous process left accepted or running; no thread when nothing waits."""
        with self._lock:
            if self._checked:
                return
            self._checked = True
        try:
            if self.workers > 0 and self.store.pending():
                self.start()
        except Exception:  # the database may be down at start-up: the next submission starts the pool
            log.warning("could not look for pending jobs", exc_info=True)

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        with self._lock:
            self._wake.notify_all()
            threads = list(self._threads) + ([self._keeper] if self._keeper else [])
        for t in threads:
            t.join(timeout_s)

    def forget_result(self, result_id: str) -> None:
        """A dismissed job's screening result: gone from the database (done) and from this process's memory."""
        self.ctx.results.forget(result_id)

    # -- the loops

    def _loop(self) -> None:
        failures = 0
        me = threading.current_thread()
        while not self._stop.is_set():
            try:
                job = self.store.claim(self.worker_id, LEASE_S)
                failures = 0
            except Exception:
                failures += 1
                log.warning("claiming a job failed", exc_info=True)
                job = None
                if failures >= 5:  # the database is gone (or closed): end; a submission starts the pool again
                    break
            if job is not None:
                self.run(job)  # never raises
                continue
            with self._lock:
                self._kicked = False
            try:
                idle = failures == 0 and not self.store.pending()
            except Exception:
                idle = True
            with self._lock:
                if idle and not self._kicked:
                    break  # nothing waits or runs anywhere; start() begins again
                self._wake.wait(POLL_S)
        with self._lock:
            if me in self._threads:
                self._threads.remove(me)

    def _keep_leases(self) -> None:
        while not self._stop.wait(LEASE_S / 4):
            for job_id in list(self.running):
                try:
                    if not self.store.renew(job_id, self.worker_id, LEASE_S):
                        self.dismissed.add(job_id)  # dismissed, or claimed by another worker after a stall: stop here
                except Exception:
                    log.warning("renewing the lease of job %s failed", job_id, exc_info=True)
            with self._lock:
                if not self._threads and not self.running:
                    self._keeper = None
                    return

    def work(self, once: bool) -> int:
        """A worker in the calling thread (`flask jobs work`): run jobs until none is left (once) or forever; the count run."""
        n = 0
        self._keeper = threading.Thread(target=self._keep_leases, name="ogc-jobs-leases", daemon=True)
        with self._lock:
            self._threads.append(threading.current_thread())  # keeps the lease thread alive while this loop runs
        self._keeper.start()
        try:
            while not self._stop.is_set():
                job = self.store.claim(self.worker_id, LEASE_S)
                if job is not None:
                    try:
                        self.run(job)
                    except KeyboardInterrupt:
                        self.store.release(job.id, self.worker_id)  # back in the queue at once, not after its lease
                        raise
                    n += 1
                elif once:
                    break
                else:
                    self._stop.wait(POLL_S)
        finally:
            with self._lock:
                self._threads.remove(threading.current_thread())
        return n

    def run(self, job: Job) -> None:
        """One claimed job from its stored request to its stored outputs (or error); a lost job's outcome is dropped.
        Never raises: a pool thread outlives any job."""
        self.running.add(job.id)
        try:
            outcome = self._execute(job)
            if outcome is None:
                return
            values, result_id = outcome
            try:
                kept = self.store.finish(job.id, self.worker_id, "successful", message="已完成 / successful", results=values,
                                         result_id=result_id, inputs=_without_files(self.store.inputs(job.id)))
            except (TypeError, ValueError):  # outputs that do not serialise: the job fails, the thread goes on
                log.exception("job %s: results could not be stored", job.id)
                self._fail(job, None)
                kept = True
            if not kept and result_id:  # dismissed while it ran: what it stored goes too
                self.store.drop_result(result_id)
                self.forget_result(result_id)
        except Exception:
            log.exception("job %s: the outcome could not be written", job.id)
        finally:
            self.running.discard(job.id)
            self.dismissed.discard(job.id)

    def _execute(self, job: Job) -> tuple[dict, str | None] | None:
        """(outputs, stored screening result id); None when the job stopped or failed (its failure is written)."""
        try:
            p = process_of(job.process_id)
            raw = self.store.inputs(job.id)
            inputs, _, _ = parse_request(p, json.loads(raw))
            actor = Actor(job.owner, job.owner_role) if job.owner else Actor.anonymous()
            ex = Execution(self.ctx, actor, raw, job.base_url, self.links, _Progress(self, job), job.id)
            self.ctx.live.refresh()  # the layers published since this process last looked
            return p.run(ex, inputs)
        except JobStopped:
            log.info("job %s stopped (dismissed)", job.id)
        except DataError as exc:
            self._fail(job, exc)
        except Exception:
            log.exception("job %s failed", job.id)
            self._fail(job, None)
        return None

    def _fail(self, job: Job, exc: DataError | None) -> None:
        if exc is None:
            self.store.finish(job.id, self.worker_id, "failed", message="服务器内部错误，请联系管理员 / internal server error",
                              error={"class": None, "title": "服务器内部错误，请联系管理员", "detail": "internal server error"})
            return
        self.store.finish(job.id, self.worker_id, "failed", message=f"{exc.message_zh} / {exc.message_en}"[:2000],
                          error={"class": type(exc).__name__, "type": getattr(exc, "ogc_type", None), "title": exc.message_zh,
                                 "detail": exc.message_en, "details": exc.details})


def _without_files(raw: bytes) -> bytes:
    """A finished job's request as kept: a file input's bytes replaced by their size (the results and audit remain)."""
    request = json.loads(raw)
    file = (request.get("inputs") or {}).get("file")
    if isinstance(file, dict) and isinstance(file.get("value"), str):
        file["value"] = f"<{len(file['value']) * 3 // 4} bytes, not kept>"
    return json.dumps(request, ensure_ascii=False).encode()


def landing_links(base: str) -> list[dict]:
    """The links an OGC API landing page gives to this part (processes and jobs)."""
    return [{"href": f"{base}ogcapi/processes", "rel": REL + "processes", "type": "application/json", "title": "处理过程 / processes"},
            {"href": f"{base}ogcapi/jobs", "rel": REL + "job-list", "type": "application/json", "title": "作业 / jobs"}]


# ---------------------------------------------------------------- OpenAPI

def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_response(description: str, schema: dict, headers: dict | None = None) -> dict:
    out = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        out["headers"] = headers
    return out


def _errors(*codes: int) -> dict:
    return {str(c): {"description": {400: "输入有误 / bad input", 401: "认证失败 / wrong credentials", 404: "未找到 / not found",
                                     413: "过大 / too large", 415: "不支持的内容 / unsupported", 429: "过于频繁 / rate limited",
                                     500: "服务器内部错误 / internal error"}[c],
                     "content": {"application/problem+json": {"schema": _ref("OgcException")}}} for c in codes}


def openapi_paths() -> dict:
    """The OpenAPI 3.0 paths of every route in web/ogc_processes.py."""
    job_id = {"$ref": "#/components/parameters/jobId"}
    process_id = {"$ref": "#/components/parameters/processId"}
    status = _json_response("作业状态 / the job's status", _ref("StatusInfo"))
    return {
        "/ogcapi/processes": {"get": {"operationId": "getProcesses", "tags": ["Processes"], "summary": "处理过程列表 / list the processes",
                                      "responses": {"200": _json_response("处理过程 / processes", _ref("ProcessList"))}}},
        "/ogcapi/processes/{processId}": {"get": {
            "operationId": "getProcessDescription", "tags": ["Processes"], "summary": "处理过程说明 / describe a process",
            "parameters": [process_id],
            "responses": {"200": _json_response("OGC 处理过程说明 / OGC process description", _ref("Process")), **_errors(404)}}},
        "/ogcapi/processes/{processId}/execution": {"post": {
            "operationId": "execute", "tags": ["Processes"],
            "summary": "执行：默认同步（batch-screening 只异步），Prefer: respond-async 异步 / execute (sync by default, Prefer: respond-async)",
            "parameters": [process_id, {"name": "Prefer", "in": "header", "required": False, "schema": {"type": "string"},
                                        "description": "respond-async：排入作业队列，返回 201"}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Execute")}}},
            "responses": {"200": _json_response("同步执行的结果 / results of a synchronous execution", _ref("Results")),
                          "201": _json_response("作业已受理 / job accepted", _ref("StatusInfo"), {
                              "Location": {"description": "作业地址 / the job's URL", "schema": {"type": "string", "format": "uri"}},
                              "Preference-Applied": {"description": "respond-async", "schema": {"type": "string"}}}),
                          **_errors(400, 401, 404, 413, 415, 429)}}},
        "/ogcapi/jobs": {"get": {
            "operationId": "getJobs", "tags": ["Jobs"], "summary": "本人的作业（管理员：全部）/ the caller's jobs (admin: all)",
            "parameters": [{"name": "limit", "in": "query", "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_JOBS_LISTED, "default": 100}}],
            "responses": {"200": _json_response("作业列表 / jobs", _ref("JobList")), **_errors(400, 401)}}},
        "/ogcapi/jobs/{jobId}": {
            "get": {"operationId": "getStatus", "tags": ["Jobs"], "summary": "作业状态 / a job's status", "parameters": [job_id],
                    "responses": {"200": status, **_errors(404)}},
            "delete": {"operationId": "dismiss", "tags": ["Jobs"], "summary": "撤销作业并删除结果 / dismiss a job, delete its results",
                       "parameters": [job_id], "responses": {"200": status, **_errors(404)}}},
        "/ogcapi/jobs/{jobId}/results": {"get": {
            "operationId": "getResult", "tags": ["Jobs"], "summary": "作业结果 / a job's results",
            "parameters": [job_id, {"name": "f", "in": "query", "required": False, "schema": {"type": "string", "enum": ["json", "csv"]},
                                    "description": "csv：batch-screening 的结果行"}],
            "responses": {"200": {"description": "结果 / results", "content": {"application/json": {"schema": _ref("Results")},
                                                                              "text/csv": {"schema": {"type": "string"}}}},
                          **_errors(400, 404, 500)}}},
    }


def openapi_components() -> dict:
    """The schemas and parameters of the paths above; Link and OgcException are the API's shared ones (services/ogc_openapi.py)."""
    links = {"type": "array", "items": _ref("Link")}
    summary = {"type": "object", "required": ["id", "version"], "properties": {
        "id": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"}, "version": {"type": "string"},
        "jobControlOptions": {"type": "array", "items": {"type": "string", "enum": ["sync-execute", "async-execute", "dismiss"]}},
        "outputTransmission": {"type": "array", "items": {"type": "string", "enum": ["value", "reference"]}}, "links": links}}
    described = {"type": "object", "properties": {"title": {"type": "string"}, "description": {"type": "string"},
                                                  "schema": {"type": "object"}, "minOccurs": {"type": "integer"},
                                                  "maxOccurs": {"type": "integer"}}}
    status_info = {"type": "object", "required": ["jobID", "status", "type"], "properties": {
        "type": {"type": "string", "enum": ["process"]}, "processID": {"type": "string"}, "jobID": {"type": "string"},
        "status": {"type": "string", "enum": ["accepted", "running", "successful", "failed", "dismissed"]},
        "message": {"type": "string"}, "created": {"type": "string", "format": "date-time"},
        "started": {"type": "string", "format": "date-time"}, "finished": {"type": "string", "format": "date-time"},
        "updated": {"type": "string", "format": "date-time"}, "progress": {"type": "integer", "minimum": 0, "maximum": 100},
        "links": links}}
    return {
        "schemas": {
            "ProcessSummary": summary,
            "ProcessList": {"type": "object", "required": ["processes", "links"],
                            "properties": {"processes": {"type": "array", "items": _ref("ProcessSummary")}, "links": links}},
            "Process": {"allOf": [_ref("ProcessSummary"), {"type": "object", "properties": {
                "inputs": {"type": "object", "additionalProperties": described},
                "outputs": {"type": "object", "additionalProperties": described}}}]},
            "Execute": {"type": "object", "properties": {
                "inputs": {"type": "object", "additionalProperties": True,
                           "description": "输入名 → 值；文件为 {value: base64, mediaType, encoding: base64, filename}；不接受 href"},
                "outputs": {"type": "object", "additionalProperties": {"type": "object", "properties": {
                    "transmissionMode": {"type": "string", "enum": ["value", "reference"]}}}},
                "response": {"type": "string", "enum": ["document", "raw"], "default": "document"}}},
            "Results": {"type": "object", "additionalProperties": True, "description": "输出名 → 值或链接 / output id → value or link"},
            "StatusInfo": status_info,
            "JobList": {"type": "object", "required": ["jobs", "links"], "properties": {
                "jobs": {"type": "array", "items": _ref("StatusInfo")}, "links": links,
                "note_zh": {"type": "string"}, "note_en": {"type": "string"}}},
        },
        "parameters": {
            "processId": {"name": "processId", "in": "path", "required": True, "schema": {"type": "string", "enum": list(PROCESSES)}},
            "jobId": {"name": "jobId", "in": "path", "required": True, "schema": {"type": "string"}},
        },
    }
