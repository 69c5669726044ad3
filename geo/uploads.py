"""Uploaded files are untrusted: the checks every upload passes before a reader parses it.

Sizes, archive members and unpacked bytes are capped; paths inside archives are checked;
XML entity declarations are refused; the bytes must be the format the name says; every
temporary file lives in a directory removed on every path out; and GDAL, which picks a
driver by content rather than by name, never has its VRT drivers or its network access.
"""
from __future__ import annotations

import io
import os
import re
import sqlite3
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from geo.errors import DataError, TooLargeError

# A VRT file can point at any local path or URL and read it as a table: the VRT drivers are
# never registered. GDAL reads GDAL_SKIP once, when it registers its drivers (on the first
# import of pyogrio or rasterio), so harden_gdal() runs from geo/__init__.py.
GDAL_SKIPPED_DRIVERS = ("OGR_VRT", "VRT")
GDAL_NETWORK_OFF = {
    "GDAL_HTTP_TIMEOUT": "1",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".none-allowed",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
}

ARCHIVE_MAX_RATIO = 200  # unpacked/packed; above it and over BOMB_MIN_BYTES a member is a bomb
BOMB_MIN_BYTES = 10 * 1024 * 1024
MAGIC = {".gpkg": (b"SQLite format 3\x00",), ".shp": (b"\x00\x00\x27\x0a",)}
REFERENCE_SUFFIXES = (".vrt",)  # named as files that make GDAL read other files: refused whatever they hold
# What ArcGIS, QGIS and other exporters put beside a shapefile: metadata (.shp.xml,
# .shp.ea.iso.xml), spatial indexes (.sbn/.sbx, .qix), attribute and id indexes (.atx, .fix),
# the code page (.cpg) and raster-style statistics (.aux.xml). Accepted and never opened;
# like every member they pass refuse_reference_files, which judges by content.
SHAPEFILE_SIDECARS = (".shp.xml", ".shp.ea.iso.xml", ".aux.xml", ".sbn", ".sbx", ".cpg", ".qix", ".atx", ".fix", ".prj", ".shx", ".dbf")
# Content that makes GDAL read something else: the roots of its XML "description" formats
# (OGR VRT, raster VRT, WMS/WMTS/WFS service descriptions, the XML forms of a GDAL dataset)
# and its virtual file system paths. Matched case-insensitively anywhere in a member.
GDAL_REFERENCE_MARKERS = (b"<ogrvrtdatasource", b"<vrtdataset", b"<gdal_wms", b"<gdal_wmts", b"<ogrwfsdatasource",
                          b"<wfs_capabilities", b"<wcs_gdal")
GDAL_VIRTUAL_PATH = re.compile(rb"/vsi[a-z0-9_]*/", re.IGNORECASE)
# binary members (coordinates, records, indexes) where "/vsi…/" could occur by chance: only the XML markers are looked for
BINARY_SUFFIXES = (".shp", ".shx", ".dbf", ".sbn", ".sbx", ".qix", ".atx", ".fix")
# zipfile's ways of saying a member cannot be unpacked: bad CRC or data, encrypted, unknown method
UNPACK_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)


@dataclass(frozen=True)
class Limits:
    """What one input may hold. prefix: the settings that set these limits (MAX_… for screening uploads,
    PUBLISH_MAX_… for an administrator's layer import), named in the message when one is hit."""

    max_upload_bytes: int = 20 * 1024 * 1024
    max_unpacked_bytes: int = 100 * 1024 * 1024
    max_archive_members: int = 50
    max_features: int = 2000
    max_vertices: int = 200_000
    repair_budget_s: float = 5.0  # seconds an invalid polygon's repair may take (geo.repair)
    prefix: str = "MAX_"

    def raised_by(self, what: str) -> str:
        """「（设置 MAX_FEATURES 可提高）」: which setting raises the limit just hit."""
        return f"（可由设置 {self.prefix}{what} 提高）"

    def raised_by_en(self, what: str) -> str:
        return f" (setting {self.prefix}{what} raises it)"


DEFAULT_LIMITS = Limits()


def harden_gdal(environ=os.environ) -> None:
    """Skip GDAL's VRT drivers (added to any GDAL_SKIP already set) and keep its network off
    unless the operator set those options deliberately."""
    skipped = environ.get("GDAL_SKIP", "").replace(",", " ").split()
    environ["GDAL_SKIP"] = " ".join(skipped + [d for d in GDAL_SKIPPED_DRIVERS if d not in skipped])
    for key, value in GDAL_NETWORK_OFF.items():
        environ.setdefault(key, value)


def check_size(data: bytes, limits: Limits) -> None:
    if not data:
        raise DataError("上传的文件为空", "the uploaded file is empty")
    if len(data) > limits.max_upload_bytes:
        raise TooLargeError(f"文件超过大小上限 {limits.max_upload_bytes // 1024 // 1024} MB{limits.raised_by('UPLOAD_MB')}",
                            f"file larger than {limits.max_upload_bytes // 1024 // 1024} MB{limits.raised_by_en('UPLOAD_MB')}")


TEMP_PREFIX = "zoning-tmp-"  # + the pid of the process that made it, so start-up can tell whose it was


@contextmanager
def temp_dir(purpose: str = "upload") -> Iterator[Path]:
    """A private (0700) directory for one upload's files, removed however the block is left; one left behind by a
    killed worker is removed at the next start-up (remove_orphan_temp_dirs)."""
    with tempfile.TemporaryDirectory(prefix=f"{TEMP_PREFIX}{os.getpid()}-{purpose}-") as tmp:
        yield Path(tmp)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_orphan_temp_dirs(root: str | None = None) -> list[str]:
    """Remove this user's temporary upload folders whose process is gone (a worker killed mid-upload leaves its
    folder: TemporaryDirectory's clean-up never ran). Returns the names removed."""
    import shutil

    removed = []
    base = Path(root or tempfile.gettempdir())
    for entry in base.glob(TEMP_PREFIX + "*"):
        pid_text = entry.name[len(TEMP_PREFIX):].split("-", 1)[0]
        try:
            if not entry.is_dir() or entry.is_symlink() or entry.stat().st_uid != os.getuid() or not pid_text.isdigit():
                continue
        except OSError:
            continue
        if int(pid_text) != os.getpid() and not _alive(int(pid_text)):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
    return removed


def refuse_xml_entities(data: bytes) -> None:
    """No DOCTYPE or ENTITY anywhere (a long comment can push a DOCTYPE past any fixed head)."""
    upper = data.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise DataError("KML 中含有 DOCTYPE/实体声明，出于安全原因拒绝处理", "KML with DOCTYPE/entity declarations is refused")


def gdal_reference(data: bytes, binary: bool = False) -> str | None:
    """The GDAL reference (a VRT or service root element, a /vsi…/ path) the bytes hold, else None."""
    lower = data.lower()
    marker = next((m for m in GDAL_REFERENCE_MARKERS if m in lower), None)
    if marker is not None:
        return marker.decode()
    if not binary:
        m = GDAL_VIRTUAL_PATH.search(data)
        if m:
            return m.group(0).decode(errors="replace")[:20]
    return None


def refuse_gdal_reference(data: bytes, name: str, binary: bool = False) -> None:
    found = gdal_reference(data, binary)
    if found:
        raise DataError(f"文件“{name[:60]}”含有 GDAL 引用内容（{found}），可能读取服务器上的其他文件，出于安全原因拒绝处理",
                        f"{name[:60]!r} holds a GDAL reference ({found}) that could make GDAL read other files; refused")


def check_magic(suffix: str, head: bytes, name: str) -> None:
    """The bytes must be the format the name says: GDAL would otherwise open whatever they are."""
    if suffix == ".kml":
        text = head[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
        if not text.startswith((b"<?xml", b"<kml")) or b"<kml" not in text:
            raise DataError(f"{name} 不是 KML 文件（内容不是 KML）", f"{name} is not KML")
        return
    if suffix in MAGIC and not head.startswith(MAGIC[suffix]):
        raise DataError(f"{name} 的内容与扩展名不符（不是有效的 {suffix} 文件）", f"{name}: content does not match {suffix}")


GPKG_INSPECT_SECONDS = 2.0  # reading a GeoPackage's own catalogue; a real one answers in milliseconds
GPKG_LAYER_TYPES = ("features", "attributes")


def check_gpkg(path: Path, name: str) -> None:
    """A GeoPackage's layers must be real tables before GDAL opens it. A layer that is a view runs its query on
    every read, and a view can be an endless recursive query in a file of a few KB that would hold a server
    thread for ever; the catalogue itself is read read-only and under a time limit."""
    deadline = time.monotonic() + GPKG_INSPECT_SECONDS
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error:
        raise DataError(f"{name} 无法读取：不是有效的 GeoPackage 文件", f"{name} is not a valid GeoPackage") from None
    conn.set_progress_handler(lambda: time.monotonic() > deadline, 1000)
    try:
        objects = dict(conn.execute("SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view')"))
        if "gpkg_contents" not in objects:
            raise DataError(f"{name} 不是 GeoPackage（缺少 gpkg_contents 表），请用 GIS 软件另存为 GeoPackage",
                            f"{name} is not a GeoPackage (no gpkg_contents table)")
        layers = [str(r[0]) for r in conn.execute("SELECT table_name FROM gpkg_contents WHERE data_type IN (?, ?)", GPKG_LAYER_TYPES)]
    except sqlite3.OperationalError as exc:
        interrupted = "interrupt" in str(exc).lower()
        raise DataError(f"{name}：读取 GeoPackage 目录{'超时' if interrupted else '失败'}，文件可能已损坏或被构造",
                        f"{name}: reading the GeoPackage catalogue {'timed out' if interrupted else 'failed'}") from None
    except sqlite3.DatabaseError:
        raise DataError(f"{name} 无法读取：不是有效的 GeoPackage 文件（数据库损坏）", f"{name} is not a valid GeoPackage (corrupt database)") from None
    finally:
        conn.close()
    # with no layer registered GDAL lists every table and view of the file: then no view may be there at all
    views = [t for t in (layers or objects) if objects.get(t) == "view"]
    missing = [t for t in layers if t not in objects]
    if views:
        raise DataError(f"{name}：图层 {'、'.join(v[:40] for v in views[:5])} 是视图（查询）而不是数据表，不予读取；请在 GIS 软件中导出为普通图层",
                        f"{name}: layer(s) {', '.join(v[:40] for v in views[:5])} are views (queries), not tables; export them as plain layers")
    if missing:
        raise DataError(f"{name}：GeoPackage 目录列出的图层 {'、'.join(m[:40] for m in missing[:5])} 不存在，文件不完整",
                        f"{name}: layer(s) listed in gpkg_contents do not exist: {', '.join(m[:40] for m in missing[:5])}")


def open_zip(data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise DataError("不是有效的 zip 压缩包", "not a valid zip archive") from None


def _too_large(limits: Limits | None = None) -> TooLargeError:
    """Over the unpacked-size limit (limits: say which setting raises it), or compressed like a zip bomb (None)."""
    if limits is None:
        return TooLargeError("压缩包解压后过大（疑似压缩炸弹）", "archive unpacks too large (zip bomb?)")
    mb = limits.max_unpacked_bytes // 1024 // 1024
    return TooLargeError(f"压缩包解压后超过 {mb} MB{limits.raised_by('UNPACKED_MB')}",
                         f"the archive unpacks to more than {mb} MB{limits.raised_by_en('UNPACKED_MB')}")


def safe_members(zf: zipfile.ZipFile, limits: Limits) -> list[zipfile.ZipInfo]:
    """The archive's files, refused whole if there are too many, a path escapes, or they unpack too large."""
    members = [m for m in zf.infolist() if not m.is_dir()]
    if len(members) > limits.max_archive_members:
        raise DataError(f"压缩包内文件数 {len(members)} 超过上限 {limits.max_archive_members}", "too many files in the archive")
    total = 0
    for m in members:
        p = PurePosixPath(m.filename.replace("\\", "/"))
        if p.is_absolute() or ".." in p.parts or not p.name or re.match(r"^[A-Za-z]:", m.filename):
            raise DataError(f"压缩包内路径不安全：{m.filename[:60]}", f"unsafe path in archive: {m.filename[:60]!r}")
        total += m.file_size
        if m.compress_size and m.file_size / m.compress_size > ARCHIVE_MAX_RATIO and m.file_size > BOMB_MIN_BYTES:
            raise _too_large()
        if total > limits.max_unpacked_bytes:
            raise _too_large(limits)
    return members


def _corrupt(m: zipfile.ZipInfo) -> DataError:
    return DataError(f"压缩包内文件“{m.filename[:60]}”无法解压（已损坏、加密或压缩方式不受支持）",
                     f"archive member {m.filename[:60]!r} cannot be unpacked (corrupt, encrypted or unsupported compression)")


def extract(zf: zipfile.ZipFile, members, tmp: Path, limits: Limits) -> list[Path]:
    """Write members flat into tmp (no directories from the archive), counting real bytes, not headers."""
    out, written = [], 0
    for m in members:
        target = tmp / PurePosixPath(m.filename.replace("\\", "/")).name
        try:
            with zf.open(m) as src, open(target, "wb") as dst:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > limits.max_unpacked_bytes:
                        raise _too_large(limits)
                    dst.write(chunk)
        except UNPACK_ERRORS:
            raise _corrupt(m) from None
        out.append(target)
    return out


def read_member(zf: zipfile.ZipFile, m: zipfile.ZipInfo) -> bytes:
    """One member's bytes (safe_members has capped its size)."""
    try:
        return zf.read(m)
    except UNPACK_ERRORS:
        raise _corrupt(m) from None


def refuse_reference_files(files: list[Path]) -> None:
    """No file in an archive may be one that tells GDAL to read another file, judged by its
    content (a VRT renamed .sbn or .shp.xml is still a VRT) and, for .vrt, by its name too.
    Ordinary sidecars (SHAPEFILE_SIDECARS: ArcGIS .shp.xml metadata, indexes, .cpg) pass."""
    for f in files:
        if f.suffix.lower() in REFERENCE_SUFFIXES:
            raise DataError(f"压缩包中含有 {f.suffix} 引用文件（{f.name[:60]}），出于安全原因拒绝处理",
                            f"archives with {f.suffix} files are refused ({f.name[:60]})")
        refuse_gdal_reference(f.read_bytes(), f.name, binary=f.suffix.lower() in BINARY_SUFFIXES)
