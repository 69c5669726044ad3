"""Published layer versions in PostGIS (DATABASE_URL set): the same interface as layers.versions.LayerRepository.

One row per version (its manifest entry) in layer_versions, one row per feature in layer_features
(geometry EPSG:4490 under a GiST index, attributes as JSONB), the published pointer per district ×
kind in published, and a generation counter in publication. A publish or a switch is ONE
transaction: the features, the pointer, the generation and the audit row commit together, so a
worker killed half-way leaves nothing visible and the previous version served. Every worker
compares the generation on each request and reloads its in-memory indexes only when it moved.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.area import area_m2
from geo.crs import GEO_EPSG
from geo.errors import NotFoundError
from geo.geometry import union_by_component
from geo.vocabulary import Vocabulary
from layers.store import GeoPackageStore, _plain, promoted_to_multi, validated_layer
from layers.versions import DEMO, VersionedStore, VersionHistory, _crash_hook, check_replaces

CHINA_TZ = timezone(timedelta(hours=8))


class PostgresLayerRepository(VersionHistory):
    backend = "postgis"

    @staticmethod
    def happened(action: str, versions: dict) -> bool:
        """A version switch and its audit row commit in one transaction here: no pending row is ever left."""
        return True

    def __init__(self, base_gpkg, db, vocab: Vocabulary, audit=None):
        self.base_gpkg = base_gpkg
        self.db = db
        self.vocab = vocab
        self.audit = audit

    def generation(self):
        return self.db.execute("SELECT generation FROM publication WHERE id = 1")[0][0]

    # ------------------------------------------------------------ manifest
    def manifest(self, tx=None) -> dict:
        run = (tx or self.db).execute
        versions = [entry if isinstance(entry, dict) else json.loads(entry)
                    for (entry,) in run("SELECT entry FROM layer_versions ORDER BY seq")]
        current = {f"{a}/{k}": v for a, k, v in run("SELECT adcode, kind, version_id FROM published ORDER BY adcode, kind")}
        return {"current": current, "versions": versions}

    # ------------------------------------------------------------ versions
    def publish(self, adcode: str, kind: str, gdf: gpd.GeoDataFrame, meta: dict, audit=None, replaces: str | None = None) -> dict:
        """Store gdf (EPSG:4490, catalogue attributes) as the new current version of (adcode, kind), in one transaction."""
        self.vocab.kind(kind)
        out = gdf.copy()
        out["adcode"] = adcode
        out["is_demo"] = 0
        out = out.set_geometry(gpd.GeoSeries(promoted_to_multi(out.geometry.values), index=out.index, crs=GEO_EPSG))
        columns = [c for c in out.columns if c != out.geometry.name]
        wkb = shapely.to_wkb(shapely.set_srid(out.geometry.values, GEO_EPSG), hex=True, include_srid=True)
        props = [json.dumps({c: _plain(v) for c, v in zip(columns, values)}, ensure_ascii=False)
                 for values in out[columns].itertuples(index=False, name=None)]
        digest = hashlib.sha256()
        for p, g in zip(props, wkb):
            digest.update(p.encode())
            digest.update(g.encode())
        with self.db.transaction() as tx:
            tx.execute("SELECT generation FROM publication WHERE id = 1 FOR UPDATE")  # one publisher at a time
            current = tx.execute("SELECT version_id FROM published WHERE adcode = ? AND kind = ?", (adcode, kind))
            check_replaces(current[0][0] if current else None, replaces, adcode, kind)
            number = tx.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM layer_versions")[0][0]
            vid = f"v{number:04d}"
            entry = {
                "id": vid, "adcode": adcode, "kind": kind, "table": "layer_features", "sha256": digest.hexdigest(),
                "created_at": datetime.now(CHINA_TZ).isoformat(timespec="seconds"), "columns": columns,
                "feature_count": int(len(out)), "dissolved_m2": round(area_m2(union_by_component(out.geometry.values)), 2), **meta,
            }
            tx.execute("INSERT INTO layer_versions (id, seq, adcode, kind, entry) VALUES (?, ?, ?, ?, ?)",
                       (vid, number, adcode, kind, json.dumps(entry, ensure_ascii=False)))
            fids = out["feature_id"].astype(str).tolist() if "feature_id" in out.columns else [str(i) for i in range(len(out))]
            with tx.cursor.copy("COPY layer_features (version_id, ord, feature_id, properties, geom) FROM STDIN") as copy:
                for i, (fid, p, g) in enumerate(zip(fids, props, wkb)):
                    copy.write_row((vid, i, fid, p, g))
            _crash_hook("inside-publish-transaction")
            self._point(tx, adcode, kind, vid)
            if audit:
                self.audit.record(**audit(entry), tx=tx)
        return entry

    def _point(self, tx, adcode: str, kind: str, vid: str | None) -> None:
        if vid is None:
            tx.execute("DELETE FROM published WHERE adcode = ? AND kind = ?", (adcode, kind))
        else:
            tx.execute("INSERT INTO published (adcode, kind, version_id) VALUES (?, ?, ?) "
                       "ON CONFLICT (adcode, kind) DO UPDATE SET version_id = excluded.version_id", (adcode, kind, vid))
        tx.execute("UPDATE publication SET generation = generation + 1 WHERE id = 1")

    def rollback(self, adcode: str, kind: str, version_id: str, audit: dict | None = None) -> None:
        """Point (adcode, kind) at any kept version of it or at the shipped demo layer ('demo'), in one transaction."""
        with self.db.transaction() as tx:
            tx.execute("SELECT generation FROM publication WHERE id = 1 FOR UPDATE")
            if version_id != DEMO and not tx.execute("SELECT 1 FROM layer_versions WHERE id = ? AND adcode = ? AND kind = ?",
                                                     (version_id, adcode, kind)):
                raise NotFoundError(f"{adcode} 的{self.vocab.kind(kind).name_zh}没有版本 {version_id[:20]}",
                                    f"no version {version_id[:20]!r} for {adcode}/{kind}")
            self._point(tx, adcode, kind, None if version_id == DEMO else version_id)
            if audit:
                self.audit.record(**audit, tx=tx)

    def load_store(self) -> VersionedStore:
        """The demo store with the published versions over it, all read in one consistent snapshot."""
        frames, overrides = {}, {}
        with self.db.snapshot() as tx:
            manifest = self.manifest(tx)
            entries = {v["id"]: v for v in manifest["versions"]}
            wanted = sorted(set(manifest["current"].values()))
            if wanted:
                rows = tx.execute("SELECT version_id, properties, ST_AsBinary(geom) FROM layer_features "
                                  "WHERE version_id = ANY(?) ORDER BY version_id, ord", (wanted,))
                by_version = {vid: [] for vid in wanted}
                for row in rows:  # one pass, not one per version
                    by_version[row[0]].append(row)
                for vid, mine in by_version.items():
                    props = pd.DataFrame([r[1] for r in mine], columns=entries[vid].get("columns"))
                    geoms = shapely.from_wkb(np.array([bytes(r[2]) for r in mine], dtype=object))
                    frames[vid] = gpd.GeoDataFrame(props, geometry=gpd.GeoSeries(geoms, crs=GEO_EPSG), crs=GEO_EPSG)
        for key, vid in manifest["current"].items():
            adcode, kind = key.split("/")
            overrides[(adcode, kind)] = (vid, lambda k, vid=vid: validated_layer(frames[vid].copy(), k, f"postgis:layer_features/{vid}"))
        return VersionedStore(GeoPackageStore(self.base_gpkg, self.vocab), overrides, self.backend)
