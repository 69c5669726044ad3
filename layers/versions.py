"""Published layer versions: the shipped demo GeoPackage plus official layers loaded per
district and kind, with an atomic 'current' manifest, history and rollback.

Publishing writes the new version's GeoPackage under a temporary name, fsyncs it, renames it
into place, and only then replaces manifest.json with os.replace, which is atomic on POSIX.
A process killed at any point leaves either the old manifest (old version served) or the new
one (new version complete on disk): never a mix. Unreferenced files are harmless leftovers.
The audit row of a publish or a switch is written before the manifest, marked pending, and completed after it;
start-up (services.context settle_audit) keeps or removes what a killed process left pending, so row and change are all or nothing.
With DATABASE_URL the same interface is served from PostGIS (layers/postgis_versions.py).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from geo.area import area_m2
from geo.crs import GEO_EPSG
from geo.errors import ConflictError, NotFoundError, StorageFullError, is_disk_full
from geo.geometry import union_by_component
from geo import vocabulary
from geo.vocabulary import Vocabulary
from layers.store import FrameStore, GeoPackageStore, promoted_to_multi

CHINA_TZ = timezone(timedelta(hours=8))
DEMO = "demo"


@contextmanager
def _removed_if_failed(path: Path):
    """path removed if the block fails (nothing half-written survives); a full disk said as StorageFullError."""
    try:
        yield
    except BaseException as exc:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass
        if is_disk_full(exc):
            raise StorageFullError() from None
        raise


def _crash_hook(point: str):
    """Test hook: ZONING_CRASH_AT=<point> kills the process there (used to prove atomicity)."""
    if os.environ.get("ZONING_CRASH_AT") == point:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def _fsync_dir(path: Path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_replaces(current: str | None, replaces: str | None, adcode: str, kind: str) -> None:
    """Refuse a publish reviewed against a version that is no longer current (None or demo[:…]: the shipped layer)."""
    if replaces is None:
        return
    now, then = _version_key(current), _version_key(replaces)
    if now != then:
        label = {DEMO: vocabulary.status("data", "demo")}
        raise ConflictError(f"{adcode} 的该图层已更新为 {label.get(now, now)}（校验时为 {label.get(then, then)}），未发布；请重新校验后再发布",
                            f"{adcode}/{kind} is now {now}, not {then} as reviewed; nothing was published — review again")


def _version_key(version: str | None) -> str:
    return DEMO if version is None or version.split(":")[0] == DEMO else version


class VersionHistory:
    """What every layer repository derives from its manifest ({"current": {key: id}, "versions": [entry, …]})."""

    def manifest(self) -> dict:
        raise NotImplementedError

    def history(self, adcode: str | None = None, kind: str | None = None) -> list[dict]:
        manifest = self.manifest()
        current = set(manifest["current"].values())
        return [dict(v, current=v["id"] in current) for v in reversed(manifest["versions"])
                if (adcode is None or v["adcode"] == adcode) and (kind is None or v["kind"] == kind)]

    def current_versions(self) -> dict[str, str]:
        return dict(self.manifest()["current"])


class LayerRepository(VersionHistory):
    backend = "geopackage"

    def __init__(self, base_gpkg: Path, root: Path, vocab: Vocabulary, audit=None):
        self.base_gpkg = Path(base_gpkg)
        self.vocab = vocab
        self.audit = audit
        self.root = Path(root)
        (self.root / "versions").mkdir(parents=True, exist_ok=True)
        self.manifest_path = self.root / "manifest.json"
        self._lock = threading.Lock()

    # ------------------------------------------------------------ manifest
    def manifest(self) -> dict:
        if not self.manifest_path.exists():
            return {"current": {}, "versions": []}
        return json.loads(self.manifest_path.read_text(encoding="utf-8"))

    def _write_manifest(self, manifest: dict, pending_row: int | None = None):
        """manifest.json replaced atomically; if that fails, the pending audit row of the change is discarded."""
        try:
            self._replace_manifest(manifest)
        except BaseException:
            if pending_row is not None:
                self.audit.discard(pending_row)
            raise

    def _replace_manifest(self, manifest: dict):
        tmp = self.manifest_path.with_suffix(".json.tmp")
        with _removed_if_failed(tmp):
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(manifest, fh, ensure_ascii=False, indent=1)
                fh.flush()
                os.fsync(fh.fileno())
        _crash_hook("before-manifest-swap")
        os.replace(tmp, self.manifest_path)
        _fsync_dir(self.root)

    @contextmanager
    def _exclusive(self):
        """One publisher at a time across processes too (a shell publish beside the server)."""
        with open(self.root / ".publish.lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def generation(self):
        """Changes whenever the published versions change (this process or another): the manifest's identity."""
        try:
            st = self.manifest_path.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    # ------------------------------------------------------------ versions
    def publish(self, adcode: str, kind: str, gdf: gpd.GeoDataFrame, meta: dict, audit=None, replaces: str | None = None) -> dict:
        """Store gdf (EPSG:4490, catalogue attributes) as the new current version of (adcode, kind).
        audit(entry) → the audit row (dict of AuditLog.record's arguments) written with it. replaces: the version the
        publisher reviewed against; if another publish or switch came first, nothing is written (ConflictError)."""
        self.vocab.kind(kind)
        with self._lock, self._exclusive():
            manifest = self.manifest()
            check_replaces(manifest["current"].get(f"{adcode}/{kind}"), replaces, adcode, kind)
            number = 1 + max((int(v["id"][1:]) for v in manifest["versions"]), default=0)
            vid = f"v{number:04d}"
            path = self.root / "versions" / f"{vid}.gpkg"
            tmp = path.with_name(f"{vid}.partial.gpkg")  # renamed into place once complete
            out = gdf.copy()
            out["adcode"] = adcode
            out["is_demo"] = 0
            out = out.set_crs(GEO_EPSG, allow_override=True)
            out = out.set_geometry(gpd.GeoSeries(promoted_to_multi(out.geometry.values), index=out.index, crs=GEO_EPSG))
            with _removed_if_failed(tmp):
                pyogrio.write_dataframe(out, tmp, layer=kind, driver="GPKG")
                with open(tmp, "rb+") as fh:
                    os.fsync(fh.fileno())
            _crash_hook("after-version-file")
            os.replace(tmp, path)
            _fsync_dir(path.parent)
            row = None
            with _removed_if_failed(path):  # no manifest (or no audit row) written: the version file goes too
                entry = {
                    "id": vid, "adcode": adcode, "kind": kind, "file": path.name,
                    "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                    "created_at": datetime.now(CHINA_TZ).isoformat(timespec="seconds"),
                    "feature_count": int(len(out)), "dissolved_m2": round(area_m2(union_by_component(out.geometry.values)), 2), **meta,
                }
                manifest["versions"].append(entry)
                manifest["current"][f"{adcode}/{kind}"] = vid
                row = self.audit.record(**audit(entry), pending=True) if audit else None  # completed once the manifest is in
                self._write_manifest(manifest, pending_row=row)
            _crash_hook("after-manifest-swap")
            if row is not None:
                self.audit.complete(row)
            return entry

    def rollback(self, adcode: str, kind: str, version_id: str, audit: dict | None = None) -> None:
        """Point (adcode, kind) at any kept version of it — earlier or later than the current one — or at the
        shipped demo layer ('demo'). A version of another district or kind is refused (NotFoundError)."""
        with self._lock, self._exclusive():
            manifest = self.manifest()
            key = f"{adcode}/{kind}"
            if version_id != DEMO and not any(v["id"] == version_id and v["adcode"] == adcode and v["kind"] == kind
                                              for v in manifest["versions"]):
                raise NotFoundError(f"{adcode} 的{self.vocab.kind(kind).name_zh}没有版本 {version_id[:20]}",
                                    f"no version {version_id[:20]!r} for {adcode}/{kind}")
            if version_id == DEMO:
                manifest["current"].pop(key, None)
            else:
                manifest["current"][key] = version_id
            row = self.audit.record(**audit, pending=True) if audit else None
            self._write_manifest(manifest, pending_row=row)
            if row is not None:
                self.audit.complete(row)

    def happened(self, action: str, versions: dict) -> bool:
        """Whether the publish or switch a pending audit row names is in the manifest (services.context settles the
        rows a killed process left pending: a publish or switch and its audit row are then all or nothing)."""
        manifest = self.manifest()
        if action == "publish":
            return all(vid in {v["id"] for v in manifest["versions"]} for vid in versions.values())
        return all(manifest["current"].get(key, DEMO) == vid for key, vid in versions.items())

    def load_store(self) -> "VersionedStore":
        manifest = self.manifest()
        overrides = {}
        for key, vid in manifest["current"].items():
            adcode, kind = key.split("/")
            entry = next(v for v in manifest["versions"] if v["id"] == vid)
            path = self.root / "versions" / entry["file"]
            overrides[(adcode, kind)] = (vid, lambda k, path=path: GeoPackageStore.load_layer(path, k))
        return VersionedStore(GeoPackageStore(self.base_gpkg, self.vocab), overrides, self.backend)


class VersionedStore(FrameStore):
    """The demo store with published versions layered over it, per district and kind.

    Implements the LayerStore interface; its version names the demo file and every published
    version in use, so an answer can be traced to (and reproduced from) exact data.
    """

    def __init__(self, base: GeoPackageStore, overrides: dict, backend: str = "geopackage"):
        """overrides: (adcode, kind) → (version id, load(LayerKind) → validated frame)."""
        self.base = base
        self.backend = backend
        self.vocab = base.vocab
        self.layer_versions = {f"{a}/{k}": vid for (a, k), (vid, _) in overrides.items()}
        frames = {}
        for kind in self.vocab.kinds:
            frame = base.read_all(kind)
            replaced = {a for (a, k) in overrides if k == kind}
            parts = [frame[~frame["adcode"].isin(replaced)]]
            for (adcode, k), (_, load) in sorted(overrides.items(), key=lambda item: item[0]):
                if k == kind:
                    parts.append(load(self.vocab.kinds[kind]))
            frames[kind] = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=GEO_EPSG)
        self._frames = frames
        tag = ",".join(f"{k}={v}" for k, v in sorted(self.layer_versions.items()))
        self.version = base.version + ("+" + hashlib.sha256(tag.encode()).hexdigest()[:8] if tag else "")

    def layer_version(self, adcode: str, kind: str) -> str:
        return self.layer_versions.get(f"{adcode}/{kind}", f"{DEMO}:{self.base.version}")

    def is_demo(self, adcode: str, kind: str) -> bool:
        """The one rule for "is this layer demo data": no published version replaces the shipped one."""
        return self.layer_version(adcode, kind).startswith(DEMO)

    def info(self) -> dict:
        return {"path": str(self.base.path), "version": self.version, "store": f"{self.backend}+versions",
                "published": self.layer_versions}
