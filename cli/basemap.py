"""`flask basemap build`: the deployer's own roads, rivers and towns as an offline vector basemap (PMTiles)."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from cli import ctx, user_errors
from geo.crs import parse_crs
from render.vector_tiles import build_pmtiles

basemap_cli = AppGroup("basemap", help="离线底图：由道路、水系、地名等文件生成矢量瓦片 / offline basemaps")


@basemap_cli.command("build")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="输出的 .pmtiles 文件")
@click.option("--crs", default=None, help="输入文件的坐标系（默认按文件自身的 .prj/声明判断），如 EPSG:4545")
@click.option("--kind", "kinds", multiple=True, metavar="图层=类别",
              help="指定图层类别（默认按图层名判断）：water_area、boundary、water_line、road、place、other")
@click.option("--name-field", "name_field", default=None, help="注记取自哪个字段（默认依次找 name、名称、MC、DMMC、HLMC…）")
@click.option("--name", default="", help="底图名称（写入瓦片元数据）")
@click.option("--attribution", default="", help="数据来源与许可，地图右下角显示")
@click.option("--min-zoom", default=4, show_default=True, type=int)
@click.option("--max-zoom", default=14, show_default=True, type=int)
@user_errors
def basemap_build(inputs, out, crs, kinds, name_field, name, attribution, min_zoom, max_zoom):
    """INPUTS：Shapefile 压缩包、GeoPackage（每个图层单独成层）、GeoJSON、KML 等，任意坐标系，GBK 或 UTF-8。"""
    bad = [k for k in kinds if "=" not in k]
    if bad:
        raise click.UsageError(f"--kind 须写作 图层=类别（如 roads=road），无法理解：{'、'.join(bad)} / --kind takes LAYER=CLASS")
    services = ctx()
    built = build_pmtiles([Path(p) for p in inputs], Path(out), services.vocab, services.publish_limits,
                          crs=parse_crs(crs) if crs else None, kinds=dict(k.split("=", 1) for k in kinds),
                          name=name, attribution=attribution, min_zoom=min_zoom, max_zoom=max_zoom, name_field=name_field)
    for layer in built["layers"]:
        click.echo(f"  图层 {layer['name']}：{layer['features']} 个要素，类别 {layer['label']}（{layer['class']}）")
    for s in built["skipped"]:
        click.echo(f"  未收录：{s}", err=True)
    click.echo(f"已生成 {built['out']}（{built['bytes'] / 1024:.0f} KB，缩放级别 {built['min_zoom']}–{built['max_zoom']}）")
