"""Base maps: the shipped offline reference layers, a deployment's own tiles (PMTiles, MBTiles or a
{z}/{x}/{y} directory, served by the app itself) and tile URL templates (an intranet 天地图 node, OSM).

Offline ones come first in every map's layer control; a network one says 需联网 or 内网 in its label, and the
map says so when its tiles do not load. `for_map()` is what a page passes to the browser.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from pmtiles.reader import MmapSource, Reader
from pmtiles.tile import Compression, TileType

from geo.errors import ConfigError, NotFoundError

ROOT = Path(__file__).resolve().parent.parent
CONTEXT_NAME = "context"
CONTEXT_LABEL = "参考底图（离线：区县界、河流）"
BLANK = "none"
OSM_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
TIANDITU_URL = (
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}"
    "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={tk}"
)
CONTENT_TYPES = {"mvt": "application/vnd.mapbox-vector-tile", "pbf": "application/vnd.mapbox-vector-tile",
                 "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}
PMTILES_TYPES = {TileType.MVT: "mvt", TileType.PNG: "png", TileType.JPEG: "jpg", TileType.WEBP: "webp"}
DIR_SUFFIXES = ("png", "jpg", "jpeg", "webp", "pbf", "mvt")
MAX_TILE_ZOOM = 22


@dataclass
class Tile:
    data: bytes
    content_type: str
    gzipped: bool
    etag: str


class PMTilesFile:
    def __init__(self, path: Path):
        self.path = path
        with path.open("rb") as f:  # the mapping outlives the file handle: no descriptor held per app
            self._reader = Reader(MmapSource(f))
        header = self._reader.header()
        self.format = PMTILES_TYPES.get(header["tile_type"], "png")
        self.gzipped = header["tile_compression"] == Compression.GZIP
        self.min_zoom, self.max_zoom = header["min_zoom"], header["max_zoom"]
        self.bounds = [header["min_lon_e7"] / 1e7, header["min_lat_e7"] / 1e7, header["max_lon_e7"] / 1e7, header["max_lat_e7"] / 1e7]
        self.metadata = self._reader.metadata()

    def get(self, z: int, x: int, y: int) -> bytes | None:
        return self._reader.get(z, x, y)


class MBTilesFile:
    """Read-only; rows are TMS (y counted from the south)."""

    def __init__(self, path: Path):
        self.path = path
        self._con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        meta = dict(self._con.execute("SELECT name, value FROM metadata").fetchall())
        self.format = {"pbf": "mvt"}.get(meta.get("format", "png"), meta.get("format", "png"))
        zooms = self._con.execute("SELECT min(zoom_level), max(zoom_level) FROM tiles").fetchone()
        self.min_zoom, self.max_zoom = int(meta.get("minzoom", zooms[0] or 0)), int(meta.get("maxzoom", zooms[1] or 18))
        self.bounds = [float(v) for v in meta["bounds"].split(",")] if meta.get("bounds") else None
        self.metadata = meta
        self.gzipped = None  # per tile: vector MBTiles are usually, not always, gzipped

    def get(self, z: int, x: int, y: int) -> bytes | None:
        with self._lock:
            row = self._con.execute("SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                                    (z, x, (1 << z) - 1 - y)).fetchone()
        return row[0] if row else None


class TileDirectory:
    def __init__(self, path: Path):
        self.path = path
        first = next((p for s in DIR_SUFFIXES for p in path.glob(f"*/*/*.{s}")), None)
        if first is None:
            raise ConfigError("config", "BASEMAPS", f"目录 {path} 中没有 {{z}}/{{x}}/{{y}} 瓦片 / no z/x/y tiles in {path}")
        self.suffix = first.suffix[1:]
        self.format = {"pbf": "mvt"}.get(self.suffix, self.suffix)
        zooms = sorted(int(p.name) for p in path.iterdir() if p.is_dir() and p.name.isdigit())
        self.min_zoom, self.max_zoom = zooms[0], zooms[-1]
        self.bounds, self.metadata, self.gzipped = None, {}, None

    def get(self, z: int, x: int, y: int) -> bytes | None:
        f = self.path / str(z) / str(x) / f"{y}.{self.suffix}"
        return f.read_bytes() if f.is_file() else None


def open_tiles(path: Path):
    if path.is_dir():
        return TileDirectory(path)
    if not path.is_file():
        raise ConfigError("config", "BASEMAPS", f"底图文件不存在：{path} / base map file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".pmtiles":
        return PMTilesFile(path)
    if suffix == ".mbtiles":
        return MBTilesFile(path)
    raise ConfigError("config", "BASEMAPS", f"底图须为 .pmtiles、.mbtiles 或瓦片目录：{path} / base maps are .pmtiles, .mbtiles or a tile folder")


@dataclass
class Basemap:
    name: str
    label: str
    attribution: str = ""
    tiles: object = None  # a local source (PMTilesFile, MBTilesFile, TileDirectory), served by the app
    url: str | None = None  # a URL template the browser fetches itself
    subdomains: str = ""
    max_zoom: int = 18
    kind: str = "raster"  # raster | vector | blank
    network: str = ""  # "" (offline), 需联网 or 内网
    group: list = field(default_factory=list)  # more URL templates drawn on top (天地图 注记)

    def layer_classes(self, vocab) -> dict:
        """Tile layer → basemap class: as `flask basemap build` stored them, else guessed from the layer names."""
        if self.tiles is None or self.kind != "vector":
            return {}
        meta = self.tiles.metadata
        if meta.get("zoning_classes"):
            return dict(meta["zoning_classes"])
        layers = meta.get("vector_layers")
        if layers is None and meta.get("json"):  # MBTiles keep them in a JSON text field
            try:
                layers = json.loads(meta["json"]).get("vector_layers")
            except (ValueError, AttributeError):
                layers = None
        return {str(v["id"]): vocab.basemap_class(str(v["id"])) for v in layers or [] if isinstance(v, dict) and "id" in v}

    def for_map(self, default: str, vocab) -> dict:
        local = self.tiles is not None
        classes = self.layer_classes(vocab)
        return {"name": self.name, "label": self.label + (f"（{self.network}）" if self.network else ""),
                "kind": self.kind, "offline": not self.network, "attribution": self.attribution,
                "tiles": f"/basemaps/{self.name}/{{z}}/{{x}}/{{y}}" if local else self.url, "overlays": self.group,
                "subdomains": self.subdomains, "min_zoom": getattr(self.tiles, "min_zoom", 0),
                "max_zoom": self.tiles.max_zoom if local else self.max_zoom, "classes": classes, "default": self.name == default}


def _host(url: str) -> str:
    """The CSP source of a URL template: t{s}.tianditu.gov.cn → *.tianditu.gov.cn."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c in parts.netloc for c in " ;,'\""):
        raise ConfigError("config", "BASEMAPS", f"底图地址须为 http(s) URL 模板：{url[:80]} / a base map URL must be http(s)")
    labels = parts.netloc.split(".")
    if "{" in labels[0]:
        labels[0] = "*"
    if any("{" in label for label in labels):
        raise ConfigError("config", "BASEMAPS", f"只有主机名的第一段可含 {{s}}：{url[:80]} / only the first host label may hold {{s}}")
    return f"{parts.scheme}://{'.'.join(labels)}"


class Basemaps:
    """Every base map of this deployment, offline ones first."""

    def __init__(self, cfg: dict, vocab):
        self.vocab = vocab
        self.items: dict[str, Basemap] = {}
        context = Path(cfg.get("CONTEXT_BASEMAP") or ROOT / "data" / "basemaps" / "context.pmtiles")
        if cfg.get("CONTEXT_BASEMAP") and not context.is_file():
            raise ConfigError("config", "CONTEXT_BASEMAP", f"参考底图文件不存在：{context} / reference base map not found: {context}")
        if context.exists():
            tiles = PMTilesFile(context)
            self._add(Basemap(CONTEXT_NAME, CONTEXT_LABEL, tiles=tiles, kind="vector",
                              attribution="参考底图：" + (tiles.metadata.get("attribution") or "")))
        remote = []
        for spec in cfg.get("BASEMAPS") or []:
            name = spec["name"]
            if name in self.items or name in (BLANK, "osm", "tianditu_vec", "tianditu_img"):
                raise ConfigError("config", "BASEMAPS", f"底图名称重复或为保留名称：{name} / duplicate or reserved base map name")
            if spec.get("path"):
                tiles = open_tiles(Path(spec["path"]))
                self._add(Basemap(name, spec["label"], spec.get("attribution", ""), tiles=tiles,
                                  kind="vector" if tiles.format == "mvt" else "raster"))
            else:
                _host(spec["url"])
                remote.append(Basemap(name, spec["label"], spec.get("attribution", ""), url=spec["url"],
                                      subdomains=spec.get("subdomains", ""), max_zoom=spec.get("max_zoom", 18),
                                      network=spec.get("network", "内网")))
        self._add(Basemap(BLANK, "无底图", "无底图（离线）", kind="blank"))
        for b in remote:
            self._add(b)
        self._add(Basemap("osm", "OpenStreetMap", "© OpenStreetMap 贡献者", url=OSM_URL, max_zoom=19, network="需联网"))
        tk = cfg.get("TIANDITU_TK")
        if tk:
            for key, base, note, label in (("tianditu_vec", "vec", "cva", "天地图 矢量"), ("tianditu_img", "img", "cia", "天地图 影像")):
                self._add(Basemap(key, label, "天地图（CGCS2000）", url=TIANDITU_URL.format(layer=base, tk=tk, s="{s}"), subdomains="01234567",
                                  network="需联网", group=[TIANDITU_URL.format(layer=note, tk=tk, s="{s}")]))
        self.default = cfg.get("BASEMAP_DEFAULT") or (CONTEXT_NAME if CONTEXT_NAME in self.items else BLANK)
        if self.default not in self.items:
            raise ConfigError("config", "BASEMAP_DEFAULT", f"没有名为 {self.default} 的底图（可用：{'、'.join(self.items)}） / "
                                                           f"no base map named {self.default}")

    def _add(self, b: Basemap) -> None:
        self.items[b.name] = b

    def for_map(self) -> list[dict]:
        return [b.for_map(self.default, self.vocab) for b in self.items.values()]

    def csp_hosts(self) -> list[str]:
        """Hosts the browser loads tile images from (CSP img-src)."""
        return sorted({_host(u) for b in self.items.values() if b.url for u in [b.url, *b.group]})

    def local(self, name: str) -> Basemap:
        b = self.items.get(name)
        if b is None or b.tiles is None:
            raise NotFoundError(f"没有名为 {str(name)[:40]} 的本地底图", f"no local base map named {str(name)[:40]}")
        return b

    def tile(self, name: str, z: int, x: int, y: int) -> Tile | None:
        """The tile, or None where the archive has none (the map leaves the square empty)."""
        source = self.local(name).tiles
        if not 0 <= z <= MAX_TILE_ZOOM or not (0 <= x < (1 << z) and 0 <= y < (1 << z)):
            raise NotFoundError("瓦片编号超出范围", "tile coordinates out of range")
        data = source.get(z, x, y)
        if data is None:
            return None
        gzipped = source.gzipped if source.gzipped is not None else data[:2] == b"\x1f\x8b"
        return Tile(data, CONTENT_TYPES.get(source.format, "application/octet-stream"), bool(gzipped),
                    hashlib.sha256(data).hexdigest()[:32])

    def tilejson(self, name: str) -> dict:
        b = self.local(name)
        t = b.tiles
        meta = t.metadata if isinstance(t.metadata, dict) else {}
        return {"tilejson": "3.0.0", "name": b.label, "attribution": b.attribution, "tiles": [f"/basemaps/{name}/{{z}}/{{x}}/{{y}}"],
                "minzoom": t.min_zoom, "maxzoom": t.max_zoom, "bounds": t.bounds, "format": t.format,
                "vector_layers": meta.get("vector_layers", []), "zoning_classes": meta.get("zoning_classes", {})}

    def archive_path(self, name: str) -> Path:
        """The PMTiles file itself, for clients that read it with HTTP range requests."""
        b = self.local(name)
        if not isinstance(b.tiles, PMTilesFile):
            raise NotFoundError(f"底图 {name} 不是 PMTiles 文件", f"base map {name} is not a PMTiles archive")
        return b.tiles.path


def gunzip_if_needed(tile: Tile, accept_encoding: str) -> tuple[bytes, bool]:
    """The bytes to send and whether they are gzip-encoded: decompressed for a client that does not accept gzip."""
    if tile.gzipped and "gzip" not in (accept_encoding or "").lower():
        return gzip.decompress(tile.data), False
    return tile.data, tile.gzipped
