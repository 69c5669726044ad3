"""`flask screen PATH`: screen the sites of a file (选址合规初筛) with a progress bar."""
from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext

from cli import ctx, user_errors
from geo.errors import DataError
from render.tables import write_table
from services import exports, screening
from services.context import Actor


@click.command("screen")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--crs", default=None, help="EPSG:4490 | EPSG:4326 | GCJ02 | BD09 | EPSG:<code>; default: detect")
@click.option("--district", default=None, help="adcode, e.g. 500111")
@click.option("--csv-mode", "csv_mode", type=click.Choice(["auto", "points", "parcel"]), default="auto",
              help="CSV: auto (guess) | points (each row a point) | parcel (the rows are one parcel's vertices)")
@click.option("--corridor-width", "corridor_width", type=float, default=None,
              help="line sites: also screen a corridor this wide (metres, half each side)")
@click.option("--out", type=click.Path(dir_okay=False), default=None, help="result.json | .csv | .xlsx | .geojson")
@with_appcontext
@user_errors
def screen_cli(path, crs, district, out, csv_mode, corridor_width):
    """Screen the sites in PATH against every layer (选址合规初筛)."""
    suffix = Path(out).suffix.lower() if out else None
    with click.progressbar(length=ctx().config["MAX_FEATURES"], label="初筛", show_pos=True) as bar:
        run = screening.screen(ctx(), Actor.cli(), upload=(Path(path).name, Path(path).read_bytes()), crs=crs, district=district,
                               allow_batch=True, progress=bar.update, csv_mode=csv_mode, corridor_width_m=corridor_width)
    for s in run.skipped:
        click.echo(f"未参与初筛：{s}", err=True)
    for w in run.warnings:
        click.echo(f"注意：{w}", err=True)
    if run.is_batch:
        click.echo(f"{len(run.rows)} 条结果（批量引擎：每类图层给出所在或最近要素）")
        n_unknown = sum(1 for row in run.rows if row.get("coverage", "完整") != "完整")
        if n_unknown:
            click.echo(f"其中 {n_unknown} 条的检索范围有部分位于未加载数据的区域（coverage 列），相应图层无法判定")
        if suffix and suffix not in (".csv", ".xlsx"):
            raise DataError("批量点位结果请输出为 .csv 或 .xlsx", "batch results go to .csv or .xlsx")
        rows = run.rows
    else:
        for r in run.results:
            name = r['site'].get('name') or '项目'
            gaps = sorted({layer["coverage"]["note_zh"] for layer in r["layers"] if not layer.get("coverage", {"complete": True})["complete"]})
            for note in gaps:  # said first: where the answer cannot be "不涉及"
                click.echo(f"{name}：【无法判定】{note}")
            check = r.get("coordinate_check")
            if check and check["differs"]:
                click.echo(f"{name}：【请确认坐标来源】{check['note_zh']}")
            click.echo(f"{name}：{r['verdict']['summary']}")
            if check and not check["differs"]:
                click.echo(f"{name}：{check['note_zh']}")
        rows = exports.result_rows(run.results)
    if not out:
        return
    if suffix in (".csv", ".xlsx"):
        write_table(out, rows, exports.CSV_COLUMNS, "初筛结果")
    elif suffix == ".geojson":
        Path(out).write_text(json.dumps(exports.overlap_geojson(run.results), ensure_ascii=False), encoding="utf-8")
    else:
        body = exports.public(run.results[0]) if len(run.results) == 1 else {"sites": exports.public(run.results)}
        Path(out).write_text(json.dumps(body, ensure_ascii=False, indent=1), encoding="utf-8")
    click.echo(f"已写出 {out}")


@click.command("screen-batch")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), required=True, help="result.parquet (GeoParquet) | result.csv")
@click.option("--scheduler", default=None, help="an existing Dask scheduler, e.g. tcp://10.0.0.5:8786; default: a local cluster")
@click.option("--workers", type=click.IntRange(1, 256), default=2, show_default=True, help="local cluster: worker processes")
@click.option("--crs", default=None, help="CRS of the sites when the file does not declare one (EPSG:4490 | EPSG:4523 | GCJ02 ...)")
@click.option("--bands", default=None, help="distance bands in metres, e.g. 0,100,500,1000,5000")
@click.option("--partition-size", "partition_size", type=click.IntRange(1, 1_000_000), default=2000, show_default=True,
              help="sites per partition (task)")
@with_appcontext
@user_errors
def screen_batch_cli(path, out, scheduler, workers, crs, bands, partition_size):
    """Screen a large file of sites on Dask, one output row per site (批量初筛)."""
    from services.batch import run_batch

    with click.progressbar(length=1, label="批量初筛", show_percent=True) as bar:
        def progress(done, total):
            bar.length = total
            bar.update(done - bar.pos)

        summary = run_batch(ctx(), Actor.cli(), Path(path), Path(out), scheduler=scheduler, workers=workers, crs=crs, bands=bands,
                            per_partition=partition_size, progress=progress)
    levels = "，".join(f"{k} {v}" for k, v in summary["levels"].items())
    click.echo(f"{summary['sites']} 个站点（{summary['partitions']} 个分区，{summary['seconds']} 秒）：{levels}")
    if summary["errors"]:
        click.echo(f"其中 {summary['errors']} 个站点出错，原因见 error 列", err=True)
    click.echo(f"已写出 {summary['output']}")
