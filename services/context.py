"""What every application service works on: the configuration, the live layer data, the state
stores (accounts, audit, measurements), the staged imports and the stored screening results,
plus who is acting. Built once per process from the settings; web and CLI adapters share it.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from geo import vocabulary
from geo.plans import load_plans_and_evidence
from geo.sites import Limits
from layers.versions import LayerRepository
from services.config import load_config
from services.live import LiveData
from services.results import ResultCache, Staging
from state.accounts import Accounts
from state.audit import AuditLog
from state.db import Database
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
        self.instance = Path(cfg["INSTANCE_DIR"])
        self.repository = LayerRepository(Path(cfg["LAYERS_GPKG"]), self.instance / "layers", self.vocab)
        plans, self.evidence = load_plans_and_evidence(Path(cfg["PLANS_DIR"]))
        self.live = LiveData(self.repository, plans, self.evidence, MeasurementStore(cfg["MEASUREMENTS_DB"]),
                             Path(cfg["RASTER_DIR"]), cfg["SHARE_TOLERANCE_PP"], cfg["AREA_TOLERANCE_PCT"])
        db = Database(self.instance / "app.sqlite")
        self.accounts = Accounts(db)
        self.audit = AuditLog(db)
        self.staging = Staging()
        self.results = ResultCache()
        self.limits = Limits(max_upload_bytes=cfg["MAX_UPLOAD_MB"] * 1024 * 1024, max_unpacked_bytes=cfg["MAX_UNPACKED_MB"] * 1024 * 1024,
                             max_features=cfg["MAX_FEATURES"], max_vertices=cfg["MAX_VERTICES"])

    def record(self, actor: Actor, action: str, summary: str, versions: dict, data: bytes | None = None,
               input_sha256: str | None = None) -> None:
        """The one way an action reaches the audit trail (data: the input, stored as its SHA-256)."""
        digest = hashlib.sha256(data).hexdigest() if data else input_sha256
        self.audit.record(actor.username, action, summary, versions, digest)

    def layer_versions(self, snap, adcode: str) -> dict:
        return {f"{adcode}/{k}": snap.store.layer_version(adcode, k) for k in self.vocab.kinds}
