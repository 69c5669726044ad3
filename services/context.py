"""What every application service works on: the configuration, the live layer data, the state
stores (accounts, audit, measurements), the staged imports and the stored screening results,
plus who is acting. Built once per process from the settings; web and CLI adapters share it.

The backend is chosen here and nowhere else: DATABASE_URL set → every piece of state in
PostgreSQL/PostGIS (shared by several worker processes); unset → GeoPackage + SQLite files in
INSTANCE_DIR (one process).
"""
from __future__ import annotations

import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from geo import vocabulary
from geo.plans import load_plans_and_evidence
from geo.errors import StorageFullError
from geo.sites import Limits
from geo.uploads import remove_orphan_temp_dirs
from layers import layer_import
from layers.versions import LayerRepository, _crash_hook
from services.basemaps import Basemaps
from services.config import load_config
from services.live import LiveData
from services.results import ResultStore, SharedStaging, Staging
from state import db as state_db
from state.accounts import Accounts
from state.audit import AuditLog
from state.measurements import MeasurementStore


@dataclass(frozen=True)
class Actor:
    """Who an audit entry names: a logged-in user, nobody (the cookie-free API) or a shell account."""

    username: str | None
    role: str | None = None

    @classmethod
    def anonymous(cls) -> "Actor":
        return cls(None)

    @classmethod
    def cli(cls, name: str | None = None) -> "Actor":
        return cls(name or f"cli:{os.environ.get('USER', 'unknown')}", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class Services:
    def __init__(self, config: dict | None = None):
        cfg = self.config = load_config(config)
        self.vocab = vocabulary.load(cfg["VOCABULARY"])
        self.basemaps = Basemaps(cfg, self.vocab)
        self.instance = Path(cfg["INSTANCE_DIR"])
        if not self.instance.exists():
            self.instance.mkdir(mode=0o700, parents=True)  # accounts, audit and the session key live here
        self.limits = Limits(max_upload_bytes=cfg["MAX_UPLOAD_MB"] * 1024 * 1024, max_unpacked_bytes=cfg["MAX_UNPACKED_MB"] * 1024 * 1024,
                             max_features=cfg["MAX_FEATURES"], max_vertices=cfg["MAX_VERTICES"],
                             repair_budget_s=cfg["REPAIR_BUDGET_SECONDS"])
        # an administrator's layer import: official layers are far larger than any site a reviewer uploads
        self.publish_limits = Limits(max_upload_bytes=cfg["PUBLISH_MAX_UPLOAD_MB"] * 1024 * 1024,
                                     max_unpacked_bytes=cfg["PUBLISH_MAX_UNPACKED_MB"] * 1024 * 1024,
                                     max_features=cfg["PUBLISH_MAX_FEATURES"], max_vertices=cfg["PUBLISH_MAX_VERTICES"],
                                     repair_budget_s=cfg["PUBLISH_REPAIR_BUDGET_SECONDS"], prefix="PUBLISH_MAX_")
        orphans = remove_orphan_temp_dirs()  # left by a worker killed mid-upload
        if orphans:
            logging.getLogger(__name__).warning("removed %d temporary upload folder(s) of stopped processes", len(orphans))
        self.db = db = state_db.connect(cfg, self.instance)
        self.shared = db.dialect == "postgres"  # state every worker process sees alike
        self.accounts = Accounts(db)
        self.audit = AuditLog(db)
        if self.shared:
            from layers.postgis_versions import PostgresLayerRepository

            self.repository = PostgresLayerRepository(Path(cfg["LAYERS_GPKG"]), db, self.vocab, self.audit)
            measurements = MeasurementStore(db)
            self.staging = SharedStaging(db, self._restage)
        else:
            self.repository = LayerRepository(Path(cfg["LAYERS_GPKG"]), self.instance / "layers", self.vocab, self.audit)
            measurements = MeasurementStore(cfg["MEASUREMENTS_DB"])
            self.staging = Staging()
        plans, self.evidence = load_plans_and_evidence(Path(cfg["PLANS_DIR"]))
        self.live = LiveData(self.repository, plans, self.evidence, measurements,
                             Path(cfg["RASTER_DIR"]), cfg["SHARE_TOLERANCE_PP"], cfg["AREA_TOLERANCE_PCT"],
                             shares_dir=self.instance / "derived" / "shares", precompute_shares=cfg["SHARES_PRECOMPUTE"],
                             tiles_dir=self.instance / "derived" / "tiles", tiles_min_vertices=cfg["VECTOR_TILES_MIN_VERTICES"])
        self.air = self.live.air_measurements  # the air-quality values, in the same database as the water ones
        self.results = ResultStore(db, cfg["RESULT_RETENTION_DAYS"])
        self.settle_audit()

    def _restage(self, source: dict, data: bytes):
        """An upload staged by another worker, read again from the stored bytes (the same reading, the same result),
        with the 准入清单 it was staged with (kept, already read, with the stored source)."""
        snap = self.live.get()
        admission = layer_import.AdmissionList.from_json(source["admission"]) if source.get("admission") else None
        return layer_import.stage(source["filename"], data, source["adcode"], self.vocab.kind(source["kind"]), source["crs"],
                                  self.publish_limits, source["user"], snap.districts.district_centre_lon(source["adcode"]),
                                  admission=admission)

    def audit_row(self, actor: Actor, action: str, summary: str, versions: dict, input_sha256: str | None = None) -> dict:
        """An audit entry's fields, for a store that writes it inside its own transaction."""
        return {"username": actor.username, "action": action, "summary": summary, "versions": versions, "input_sha256": input_sha256}

    def record(self, actor: Actor, action: str, summary: str, versions: dict, data: bytes | None = None,
               input_sha256: str | None = None, read: bool = False, tx=None, result_id: str | None = None) -> None:
        """The one way an action reaches the audit trail (data: the input, stored as its SHA-256). read: the action
        only shows data (a shares or sections page), so a full disk does not stop it: the row is logged instead.
        tx: written in that open transaction (with what the action stores); result_id: the stored result it produced."""
        digest = hashlib.sha256(data).hexdigest() if data else input_sha256
        try:
            self.audit.record(actor.username, action, summary, versions, digest, tx=tx, result_id=result_id)
        except StorageFullError:
            if not read:
                raise
            logging.getLogger(__name__).error("storage full: audit row not written: %s %s %s", actor.username, action, summary[:200])

    def record_import(self, actor: Actor, action: str, filename: str, data: bytes, run, described):
        """A measurement import and its audit row, all or nothing even if the process is killed: the row is written
        pending with a token first, run(token) stores the import under that token, then the row is completed with
        described(done) → (summary, versions). A row left pending is settled at start-up (settle_audit)."""
        token = secrets.token_hex(16)
        row = self.audit.record(actor.username, action, f"导入中：{filename[:200]}", {"audit_token": token},
                                hashlib.sha256(data).hexdigest(), pending=True)
        try:
            _crash_hook("before-measurement-import")
            done = run(token)
        except BaseException:
            self.audit.discard(row)
            raise
        _crash_hook("after-measurement-import")
        summary, versions = described(done)
        if not self.audit.complete(row, summary, versions):  # settled away meanwhile by a worker starting up: row anew
            self.audit.record(actor.username, action, summary, versions, hashlib.sha256(data).hexdigest())
        return done

    def settle_audit(self) -> None:
        """Start-up: audit rows a killed process left pending are completed where their change was made and removed
        where it was not — publishes and switches by the layer manifest, imports by their token."""
        imports = {"sections_import": self.live.measurements.import_of_audit_token,
                   "air_import": self.live.air_measurements.import_of_audit_token}
        self.audit.settle(lambda action, versions: imports[action](versions.get("audit_token")) if action in imports
                          else self.repository.happened(action, versions))

    def layer_versions(self, snap, adcode: str) -> dict:
        return {f"{adcode}/{k}": snap.store.layer_version(adcode, k) for k in self.vocab.kinds}
