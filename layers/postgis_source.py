"""An official layer read from a PostGIS table or query, handed to the importer as a GeoPackage.

`flask layers publish --from-postgis SOURCE` does not import a database layer by a second path:
the rows become a GeoPackage in memory and go through `services.layer_admin.stage` exactly as an
uploaded file does (same limits, repairs, CRS handling, report, confirmation and audit).

SOURCE is a table (`schema.table` or `table`, found through the search path; unquoted names are
tried as written, then folded to lower case as PostgreSQL would; "double quotes" keep case and dots)
or a read-only query starting with SELECT or WITH. Everything runs in one READ ONLY transaction
with a statement timeout; the query is wrapped as a sub-select, so it cannot carry a second statement.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import uuid
import warnings
from decimal import Decimal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geo.errors import DataError, NotFoundError, TooLargeError

STATEMENT_TIMEOUT = "10min"
CONNECT_TIMEOUT_S = 10
QUERY_START = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)
_IDENT = re.compile(r'\s*(?:"((?:[^"]|"")+)"|([^".\s]+))\s*')
_UNSAFE_NAME = re.compile(r'[\x00-\x1f/\\:*?"<>|]+')
# a fixed GeoPackage timestamp: the same rows give the same bytes, so the audit's input SHA-256 names the data
GPKG_DATE = "2000-01-01T00:00:00.000Z"
# PostGIS types that are not attributes (the one geometry column is read as the geometry)
NOT_ATTRIBUTES = ("geometry", "geography", "raster", "box2d", "box3d")


def is_query(source: str) -> bool:
    return bool(QUERY_START.match(source or ""))


def parse_table(source: str) -> list[tuple[str, bool]]:
    """`schema.table` / `table` / `"My Schema"."a.b"` → [(name, quoted), ...] (1 or 2 parts)."""
    parts, pos, text = [], 0, source.strip()
    while True:
        m = _IDENT.match(text, pos)
        if not m or m.end() == pos:
            break
        parts.append((m.group(1).replace('""', '"'), True) if m.group(1) is not None else (m.group(2), False))
        pos = m.end()
        if pos < len(text) and text[pos] == ".":
            pos += 1
            continue
        break
    if pos != len(text) or not 1 <= len(parts) <= 2:
        raise DataError(f"无法理解的 PostGIS 来源“{source[:80]}”：请写 模式.表名（如 public.redline）、表名，或以 SELECT / WITH 开头的只读查询",
                        f"cannot read the PostGIS source {source[:80]!r}: give schema.table, table, or a read-only SELECT/WITH query")
    return parts


def _where(url: str) -> str:
    """host:port/dbname of a connection string, never its password (for messages)."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(url)
    except Exception:  # noqa: BLE001 -- an unparsable URL is reported by connect()
        return "（连接地址无法解析）"
    host = info.get("host") or "localhost"
    return f"{host}{':' + str(info['port']) if info.get('port') else ''}/{info.get('dbname') or info.get('user') or ''}"


def _first_line(exc: Exception) -> str:
    diag = getattr(exc, "diag", None)
    text = (getattr(diag, "message_primary", None) if diag is not None else None) or str(exc)
    return text.strip().splitlines()[0][:200] if text.strip() else type(exc).__name__


def _connect(url: str):
    import psycopg

    where = _where(url)
    try:
        conn = psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg.ProgrammingError as exc:  # a malformed connection string
        raise DataError(f"PostGIS 连接地址无效：{_first_line(exc)}（应写作 postgresql://用户@主机:端口/数据库）",
                        f"invalid PostGIS connection URL: {_first_line(exc)}") from None
    except psycopg.Error as exc:
        raise DataError(f"无法连接 PostGIS 数据库 {where}：{_first_line(exc)}（请检查 --source-url、服务是否运行、用户与权限）",
                        f"cannot connect to the PostGIS database {where}: {_first_line(exc)}") from None
    conn.read_only = True
    return conn


def _resolve_table(cur, parts: list[tuple[str, bool]], source: str) -> tuple[str, str]:
    """(schema, table) of an existing relation; unquoted names as written first, then lower-cased."""
    from psycopg import sql

    candidates = [[p for p, _ in parts]]
    folded = [p if quoted else p.lower() for p, quoted in parts]
    if folded != candidates[0]:
        candidates.append(folded)
    for names in candidates:
        qualified = sql.Identifier(*names).as_string(cur.connection)
        cur.execute("SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.oid = to_regclass(%s)", (qualified,))
        row = cur.fetchone()
        if row:
            return row[0], row[1]
    raise NotFoundError(f"PostGIS 中没有表“{source[:80]}”（或当前用户无权看到它）；请写 模式.表名，如 public.redline",
                        f"no table {source[:80]!r} in the PostGIS database (or not visible to this user)")


def _table_geometry_column(cur, schema: str, table: str) -> str:
    cur.execute("SELECT f_geometry_column FROM geometry_columns WHERE f_table_schema = %s AND f_table_name = %s "
                "ORDER BY f_geometry_column", (schema, table))
    cols = [r[0] for r in cur.fetchall()]
    label = f"{schema}.{table}"
    if not cols:
        cur.execute("SELECT f_geography_column FROM geography_columns WHERE f_table_schema = %s AND f_table_name = %s", (schema, table))
        geog = [r[0] for r in cur.fetchall()]
        hint = (f"；它有 geography 列 {'、'.join(geog)}，可用查询转换：SELECT {geog[0]}::geometry AS geom, … FROM {label}" if geog else "")
        raise DataError(f"表 {label} 没有几何列（geometry）{hint}", f"table {label} has no geometry column")
    if len(cols) > 1:
        raise DataError(f"表 {label} 有 {len(cols)} 个几何列（{'、'.join(cols)}），请用查询选定一个，如 "
                        f"--from-postgis \"SELECT {cols[0]}, 字段… FROM {label}\"",
                        f"table {label} has several geometry columns ({', '.join(cols)}); select one with a query")
    return cols[0]


def _primary_key(cur, schema: str, table: str) -> list[str]:
    cur.execute("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indrelid = to_regclass(%s) AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)",
                (_qualified(cur, schema, table),))
    return [r[0] for r in cur.fetchall()]


def _qualified(cur, schema: str, table: str) -> str:
    from psycopg import sql

    return sql.Identifier(schema, table).as_string(cur.connection)


def _type_oids(cur) -> dict[int, str]:
    cur.execute("SELECT t.oid, t.typname FROM pg_type t WHERE t.oid IN (to_regtype('geometry'), to_regtype('geography'), "
                "to_regtype('raster'), to_regtype('box2d'), to_regtype('box3d'))")
    found = {int(oid): name for oid, name in cur.fetchall()}
    if "geometry" not in found.values():
        raise DataError("该数据库未安装 PostGIS 扩展（没有 geometry 类型），无法读取几何", "PostGIS is not installed in that database")
    return found


def _crs_of(cur, srid: int) -> str:
    """EPSG:<code> for an EPSG-registered SRID, else the spatial_ref_sys WKT."""
    cur.execute("SELECT auth_name, auth_srid, srtext FROM spatial_ref_sys WHERE srid = %s", (srid,))
    row = cur.fetchone()
    if row is None:
        raise DataError(f"SRID {srid} 不在该库的 spatial_ref_sys 中，无法确定坐标系；请用 --crs 指定", f"SRID {srid} is not in spatial_ref_sys")
    auth, code, wkt = row
    if (auth or "").upper() == "EPSG" and code:
        return f"EPSG:{code}"
    return wkt or f"EPSG:{srid}"


def _integral(values) -> bool:
    return all(v is None or (v.is_finite() and v == v.to_integral_value()) for v in values)


def _plain(value):
    """A database value as a plain attribute a GeoPackage (and the importer's field mapping) can hold."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, (uuid.UUID, dt.timedelta)):
        return str(value)
    return str(value)


def _column(values: list, scale: int | None = None) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """One attribute column; scale: a numeric column's declared scale (numeric(10, 0) → 0), None if not declared."""
    decimals = [v for v in values if v is not None]
    if decimals and all(isinstance(v, Decimal) for v in decimals):
        # numeric: whole numbers stay integers (a code such as 500111 must not become "500111.0"), numeric(12, 4) stays decimal
        whole = scale == 0 or (scale is None and _integral(decimals))
        if whole and _integral(decimals) and all(abs(v) < 2 ** 63 for v in decimals):
            return pd.array([None if v is None else int(v) for v in values], dtype="Int64")
        return pd.array([None if v is None else float(v) for v in values], dtype="Float64")
    plain = [_plain(v) for v in values]
    kinds = {type(v) for v in plain if v is not None}
    if kinds == {bool}:
        return pd.array(plain, dtype="boolean")
    if kinds == {int} and all(abs(v) < 2 ** 63 for v in plain if v is not None):
        return pd.array(plain, dtype="Int64")
    if kinds <= {int, float} and kinds:
        return pd.array([None if v is None else float(v) for v in plain], dtype="Float64")
    return np.array([None if v is None else str(v) for v in plain], dtype=object)


def _file_name(label: str, query: str | None) -> str:
    if query is not None:
        return f"postgis_query_{hashlib.sha256(query.encode()).hexdigest()[:10]}.gpkg"
    return f"postgis_{_UNSAFE_NAME.sub('_', label)[:120]}.gpkg"


def read_postgis_source(url: str, source: str, *, crs_given: bool = False, max_rows: int | None = None) -> tuple[str, bytes]:
    """(file name, GeoPackage bytes) of a PostGIS table or read-only query, for layer_admin.stage.

    crs_given: the user states the CRS (--crs), so geometries without an SRID (0) are accepted.
    max_rows: refuse a source with more rows (the import's feature limit) before reading them all.
    Every problem is a DataError in Chinese and English naming the table or the query."""
    import psycopg
    from psycopg import sql

    source = (source or "").strip()
    if not source:
        raise DataError("未给出 PostGIS 来源（表名或查询）", "no PostGIS source (table or query) given")
    query = source.rstrip().rstrip(";").rstrip() if is_query(source) else None
    parts = None if query is not None else parse_table(source)
    label = "查询结果" if query is not None else source
    with _connect(url) as conn:
        try:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("SELECT set_config('statement_timeout', %s, true)", (STATEMENT_TIMEOUT,))
                types = _type_oids(cur)
                order = sql.SQL("")
                if query is None:
                    schema, table = _resolve_table(cur, parts, source)
                    label = f"{schema}.{table}"
                    geom_col = _table_geometry_column(cur, schema, table)
                    relation = sql.SQL("{} AS src").format(sql.Identifier(schema, table))
                    pk = _primary_key(cur, schema, table)
                    if pk:  # a stable feature order: the versions' feature ids follow it
                        order = sql.SQL(" ORDER BY {}").format(sql.SQL(", ").join(sql.Identifier("src", c) for c in pk))
                    cur.execute(sql.SQL("SELECT * FROM {} LIMIT 0").format(relation))
                else:
                    relation = sql.SQL("({}\n) AS src").format(sql.SQL(query))
                    cur.execute(sql.SQL("SELECT * FROM {} LIMIT 0").format(relation))
                    geoms = [d.name for d in cur.description if types.get(d.type_code) == "geometry"]
                    if not geoms:
                        geog = [d.name for d in cur.description if types.get(d.type_code) == "geography"]
                        hint = f"；geography 列 {geog[0]} 可写作 {geog[0]}::geometry AS geom" if geog else ""
                        raise DataError(f"查询结果中没有几何列（geometry）{hint}", "the query returns no geometry column")
                    if len(geoms) > 1:
                        raise DataError(f"查询结果有 {len(geoms)} 个几何列（{'、'.join(geoms)}），请只选一个",
                                        f"the query returns several geometry columns ({', '.join(geoms)}); select one")
                    geom_col = geoms[0]
                names = [d.name for d in cur.description]
                dupes = sorted({n for n in names if names.count(n) > 1})
                if dupes:
                    raise DataError(f"{label} 的列名重复：{'、'.join(dupes)}，请在查询中用 AS 改名",
                                    f"duplicate column names in {label}: {', '.join(dupes)}; rename them with AS")
                attrs = [d for d in cur.description if d.name != geom_col and types.get(d.type_code) not in NOT_ATTRIBUTES]
                g = sql.Identifier("src", geom_col)
                limit = sql.SQL(" LIMIT {}").format(sql.Literal(max_rows + 1)) if max_rows is not None else sql.SQL("")
                cur.execute(sql.SQL("SELECT ST_AsBinary(ST_Force2D(CASE WHEN ST_HasArc({g}) THEN ST_CurveToLine({g}) ELSE {g} END)), "
                                    "ST_SRID({g}){cols} FROM {rel}{order}{limit}").format(
                    g=g, rel=relation, order=order, limit=limit,
                    cols=sql.SQL("").join(sql.SQL(", {}").format(sql.Identifier("src", a.name)) for a in attrs)))
                rows = cur.fetchall()
                srids = sorted({r[1] for r in rows if r[1] is not None})
                crs = _crs_of(cur, srids[0]) if len(srids) == 1 and srids[0] != 0 else None
        except DataError:
            raise
        except psycopg.errors.QueryCanceled:
            raise DataError(f"读取 {label} 超时（{STATEMENT_TIMEOUT}），请缩小查询范围", f"reading {label} timed out ({STATEMENT_TIMEOUT})") from None
        except psycopg.errors.ReadOnlySqlTransaction:
            raise DataError("查询须为只读（只允许 SELECT / WITH 查询，不能修改数据库）", "the query must be read-only") from None
        except psycopg.errors.InsufficientPrivilege as exc:
            raise DataError(f"无权读取 {label}：{_first_line(exc)}", f"no permission to read {label}: {_first_line(exc)}") from None
        except psycopg.Error as exc:
            what = "查询无法执行" if query is not None else f"读取表 {label} 失败"
            raise DataError(f"{what}：{_first_line(exc)}", f"{'the query failed' if query is not None else f'reading {label} failed'}: "
                                                             f"{_first_line(exc)}") from None

    if max_rows is not None and len(rows) > max_rows:
        raise TooLargeError(f"PostGIS 来源 {label} 的行数超过上限 {max_rows}（要素数上限 MAX_FEATURES），请分批或用查询筛选",
                            f"the PostGIS source {label} has more than {max_rows} rows")
    if not rows:
        raise DataError(f"PostGIS 来源 {label} 没有行（0 个要素），未导入", f"the PostGIS source {label} has no rows")
    if len(srids) > 1:
        raise DataError(f"{label} 的几何坐标系不一致（SRID {'、'.join(map(str, srids[:6]))}），请统一为一个坐标系后再导入（如 ST_Transform）",
                        f"{label} mixes SRIDs {', '.join(map(str, srids[:6]))}; use one CRS (e.g. ST_Transform)")
    if srids == [0] and not crs_given:
        raise DataError(f"{label} 的几何未设置坐标系（SRID 0）：请加 --crs 指定（如 --crs EPSG:4523），或在库中设置 SRID（UpdateGeometrySRID）",
                        f"{label} has no SRID (0); give --crs or set the SRID in the database")

    geometry = shapely.from_wkb(np.array([r[0] for r in rows], dtype=object))
    columns = {}
    for i, col in enumerate(attrs, start=2):
        columns["geometry_" if col.name == "geometry" else col.name] = _column([r[i] for r in rows], col.scale)
    gdf = gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries(geometry, crs=crs), crs=crs)
    layer = _UNSAFE_NAME.sub("_", label if query is None else "query")[:60] or "layer"
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        _write_gpkg(gdf, buffer, layer)
    return _file_name(label, query), buffer.getvalue()


def _write_gpkg(gdf, buffer, layer: str) -> None:
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_DATE})
    try:
        warnings.filterwarnings("ignore", "'crs' was not provided", UserWarning)  # SRID 0: the --crs given applies
        # the FID under its own name: a source column called "fid" stays an ordinary attribute
        pyogrio.write_dataframe(gdf, buffer, driver="GPKG", layer=layer, layer_options={"FID": "gpkg_fid", "SPATIAL_INDEX": "NO"})
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})
