"""Vector tiles (MVT in a PMTiles archive) of the published layers too heavy for one GeoJSON download.

An official red line of millions of vertices is drawn from tiles (full detail at high zoom, simplified to the
screen at low zoom) instead of a display copy the browser must fetch and parse whole. A layer of a district
with at least VECTOR_TILES_MIN_VERTICES vertices is cut by tippecanoe in the background once a snapshot is live
(start-up, publish), into INSTANCE_DIR/derived/tiles/<adcode>-<kind>-<content hash>.pmtiles: a restart finds
it there, a new version gets a new name (and the old file is removed). Until its tiles exist, a layer is drawn
from GeoJSON as before, so a map is never empty while they are cut. Lighter layers stay GeoJSON.
"""
from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

import shapely

from geo.errors import NotFoundError
from layers.store import layer_content
from render.vector_tiles import layer_pmtiles
from services.basemaps import CONTENT_TYPES, PMTilesFile, Tile

MIN_ZOOM = 5
MAX_ZOOM = 14  # ≈ 0.6 m per tile unit at 29° N: below the 1–10 m the official layers are digitised at
TILE_LAYER = "features"  # the one tile layer of each archive


class LayerTiles:
    def __init__(self, store, vocab, tiles_dir: Path | None, min_vertices: int | None):
        self.store, self.vocab = store, vocab
        self.dir = Path(tiles_dir) if tiles_dir else None
        self.min_vertices = min_vertices
        self._keys: dict[tuple[str, str], str] = {}
        self._open: dict[tuple[str, str], PMTilesFile] = {}
        self._heavy: list[tuple[str, str]] | None = None
        self._lock = threading.Lock()

    def heavy(self) -> list[tuple[str, str]]:
        """(adcode, kind) of every polygon or line layer at or above the vertex threshold."""
        if self._heavy is None:
            found = []
            if self.dir is not None and self.min_vertices:
                for key, kind in self.vocab.kinds.items():
                    if kind.is_point:
                        continue
                    frame = self.store.read_all(key)
                    if frame.empty:
                        continue
                    counts = frame.assign(_n=shapely.get_num_coordinates(frame.geometry.values)).groupby("adcode")["_n"].sum()
                    found += [(str(a), key) for a, n in counts.items() if n >= self.min_vertices]
            self._heavy = sorted(found)
        return self._heavy

    def key(self, adcode: str, kind: str) -> str:
        if (adcode, kind) not in self._keys:
            h = hashlib.sha256(f"{MIN_ZOOM}-{MAX_ZOOM}|{self._columns(kind)}|".encode())
            layer_content(self.store, adcode, kind, h)
            self._keys[(adcode, kind)] = h.hexdigest()[:24]
        return self._keys[(adcode, kind)]

    def _path(self, adcode: str, kind: str) -> Path:
        return self.dir / f"{adcode}-{kind}-{self.key(adcode, kind)}.pmtiles"

    def _columns(self, kind_key: str) -> list[str]:
        """What the map styles by (feature id, name, the colouring attribute); the popup asks the server for the rest."""
        kind = self.vocab.kind(kind_key)
        by = kind.style_by or kind.level_by
        return ["feature_id", "name", *([by] if by else [])]

    def build(self, adcode: str, kind: str) -> Path:
        """The layer's archive, cut now unless it is already on disk."""
        path = self._path(adcode, kind)
        with self._lock:  # one cut at a time: tippecanoe uses every core
            if not path.exists():
                frame = self.store.read(kind, adcode)
                columns = [c for c in self._columns(kind) if c in frame.columns]
                layer_pmtiles(frame, path, TILE_LAYER, columns, MIN_ZOOM, MAX_ZOOM, shared_borders=self.vocab.kind(kind).zoning,
                              metadata={"zoning_layer": {"adcode": adcode, "kind": kind, "key": self.key(adcode, kind)}})
                for old in path.parent.glob(f"{adcode}-{kind}-*.pmtiles"):
                    if old != path:
                        old.unlink(missing_ok=True)
        return path

    def build_all(self) -> None:
        for adcode, kind in self.heavy():
            try:
                self.build(adcode, kind)
            except Exception:  # noqa: BLE001 -- the layer stays on GeoJSON; the next start tries again
                logging.getLogger(__name__).exception("vector tiles of %s/%s not built", adcode, kind)

    def for_map(self, adcode: str) -> dict[str, dict]:
        """kind → what the browser draws its tiles from, for the heavy layers whose archive is ready."""
        out = {}
        for a, kind in self.heavy():
            if a == adcode and self._path(a, kind).exists():
                out[kind] = {"tiles": f"/tiles/layers/{adcode}/{kind}/{self.key(a, kind)}/{{z}}/{{x}}/{{y}}.mvt",
                             "tile_layer": TILE_LAYER, "min_zoom": MIN_ZOOM, "max_zoom": MAX_ZOOM,
                             "index_url": f"/api/districts/{adcode}/layers/{kind}/index",
                             "at_url": f"/api/districts/{adcode}/layers/{kind}/at"}
        return out

    def tile(self, adcode: str, kind: str, key: str, z: int, x: int, y: int) -> Tile | None:
        """One tile of the current version; a key of another version is not found (the page is older than a publish)."""
        if (adcode, kind) not in self.heavy() or key != self.key(adcode, kind) or not self._path(adcode, kind).exists():
            raise NotFoundError(f"图层瓦片不存在或已更新：{adcode}/{kind}（请刷新页面）", f"no such layer tiles (reload the page): {adcode}/{kind}")
        if (adcode, kind) not in self._open:
            self._open[(adcode, kind)] = PMTilesFile(self._path(adcode, kind))
        archive = self._open[(adcode, kind)]
        data = archive.get(z, x, y) if MIN_ZOOM <= z <= MAX_ZOOM else None
        return Tile(data, CONTENT_TYPES["mvt"], archive.gzipped, f"{key}-{z}-{x}-{y}") if data else None
