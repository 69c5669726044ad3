"""Build the demo land-cover rasters data/rasters/<adcode>_landcover_demo.tif, reproducibly.

    .venv/bin/python data/build_demo_rasters.py [ADCODE ...]

These are illustrative (示意) rasters, not remote sensing. Each is a 30 m grid in the
district's CGCS2000 3° Gauss-Krüger zone, coded with ESA WorldCover classes (10 tree cover,
20 shrubland, 30 grassland, 40 cropland, 50 built-up, 60 bare, 80 water), made from smooth
random fields with a fixed seed. Tree cover is more likely inside the demo red line, and the
tree-cover threshold is calibrated so that the forest share inside the district boundary —
computed exactly as geo.raster_share.class_share computes it (fractional boundary pixels,
ellipsoidal pixel areas) — equals the plan's 2020 森林覆盖率 (indicator forest_cover,
value_2020). The GeoTIFF carries the tags DEMO=true and NOTE_ZH saying so.

Replace a file with a real GeoTIFF (any CRS; WorldCover or CLCD codes, tag or pass the preset)
to compute real shares.
"""
from __future__ import annotations

import math
import sys
import zlib
from pathlib import Path

import numpy as np
import pyogrio
import rasterio
import rasterio.features
import shapely
from rasterio.transform import from_origin

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo.crs import gk3_epsg, gk3_zone  # noqa: E402
from geo.plans import indicator, load_plans  # noqa: E402
from geo.raster_share import cell_areas_m2, class_share, polygon_coverage, polygon_to_raster_crs  # noqa: E402
from geo.shares import parse_number  # noqa: E402

SEED = 20214
GPKG = ROOT / "data" / "demo.gpkg"
OUT_DIR = ROOT / "data" / "rasters"
PIXEL_M = 30.0
MARGIN_M = 600.0
COARSE = 8  # smooth fields are drawn on a grid 8× coarser (240 m) and interpolated bilinearly
MAX_BYTES = 1_500_000
REDLINE_BONUS = 1.2  # in standard deviations of the forest field: forest is likelier inside the red line

# Non-forest land cover, drawn by quantiles of a second field (shares of the non-forest area).
NON_FOREST = [(40, 0.56), (30, 0.14), (20, 0.12), (50, 0.12), (80, 0.04), (60, 0.02)]
# WorldCover colour table (product user manual).
COLORS = {
    10: (0, 100, 0),
    20: (255, 187, 34),
    30: (255, 255, 76),
    40: (240, 150, 255),
    50: (250, 0, 0),
    60: (180, 180, 180),
    70: (240, 240, 240),
    80: (0, 100, 200),
    90: (0, 150, 160),
    95: (0, 207, 117),
    100: (250, 230, 160),
}


def rng_for(*keys) -> np.random.Generator:
    return np.random.default_rng([SEED, *(zlib.crc32(str(k).encode()) for k in keys)])


def smooth_field(rng: np.random.Generator, shape: tuple[int, int], sigma_px: float) -> np.ndarray:
    """Gaussian-filtered white noise (FFT, periodic), standardised to mean 0, sd 1."""
    h, w = shape
    noise = rng.standard_normal((h, w))
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    kernel = np.exp(-2 * (math.pi * sigma_px) ** 2 * (fx**2 + fy**2))
    f = np.fft.irfft2(np.fft.rfft2(noise) * kernel, s=(h, w))
    return (f - f.mean()) / f.std()


def upsample(coarse: np.ndarray, shape: tuple[int, int], factor: int) -> np.ndarray:
    """Bilinear interpolation of a coarse grid (cell centres) onto a grid `factor` times finer."""
    h, w = shape
    ch, cw = coarse.shape

    def axis(n, cn):
        pos = np.clip((np.arange(n) + 0.5) / factor - 0.5, 0, cn - 1)
        i0 = np.minimum(np.floor(pos).astype(int), cn - 2)
        return i0, pos - i0

    iy, wy = axis(h, ch)
    ix, wx = axis(w, cw)
    top = coarse[iy][:, ix] * (1 - wx) + coarse[iy][:, ix + 1] * wx
    bottom = coarse[iy + 1][:, ix] * (1 - wx) + coarse[iy + 1][:, ix + 1] * wx
    return top * (1 - wy)[:, None] + bottom * wy[:, None]


def fit_biases(fields: np.ndarray, shares: np.ndarray, iterations: int = 60) -> np.ndarray:
    """Biases b_k so that argmax_k(field_k + b_k) picks class k on about shares[k] of the cells."""
    bias = np.zeros(len(shares))
    for _ in range(iterations):
        got = np.bincount(np.argmax(fields + bias[:, None, None], axis=0).ravel(), minlength=len(shares)) / fields[0].size
        bias += 0.5 * (np.log(shares) - np.log(np.maximum(got, 1e-6)))
    return bias


def weighted_threshold(values: np.ndarray, weights: np.ndarray, share: float) -> float:
    """t such that the weight of values > t is `share` of the total weight."""
    order = np.argsort(values)[::-1]
    cum = np.cumsum(weights[order])
    k = int(np.searchsorted(cum, share * cum[-1]))
    k = min(max(k, 0), values.size - 1)
    # pick the side of pixel k that lands closer to the target
    below = cum[k - 1] if k > 0 else 0.0
    if abs(below - share * cum[-1]) <= abs(cum[k] - share * cum[-1]):
        return float(values[order[k]])  # pixel k excluded (strict >)
    return float(np.nextafter(values[order[k]], -np.inf))


def build(adcode: str, district_ll, redline_ll, plan: dict) -> dict:
    target = parse_number(indicator(plan, "forest_cover")["value_2020"])
    zone = gk3_zone(district_ll.centroid.x)
    epsg = gk3_epsg(zone)
    district = polygon_to_raster_crs(district_ll, f"EPSG:{epsg}")
    redline = polygon_to_raster_crs(redline_ll, f"EPSG:{epsg}")
    minx, miny, maxx, maxy = district.bounds
    x0 = math.floor((minx - MARGIN_M) / PIXEL_M) * PIXEL_M
    y1 = math.ceil((maxy + MARGIN_M) / PIXEL_M) * PIXEL_M
    width = int(math.ceil((maxx + MARGIN_M - x0) / PIXEL_M))
    height = int(math.ceil((y1 - (miny - MARGIN_M)) / PIXEL_M))
    # round the grid up to whole coarse cells
    width += (-width) % COARSE
    height += (-height) % COARSE
    transform = from_origin(x0, y1, PIXEL_M, PIXEL_M)
    shape = (height, width)
    cshape = (height // COARSE, width // COARSE)
    rng = rng_for(adcode)

    # forest propensity: a smooth field (patches of a few km) plus a bonus inside the red line
    forest_f = upsample(smooth_field(rng, cshape, sigma_px=6.0) + 0.35 * smooth_field(rng, cshape, sigma_px=1.5), shape, COARSE)
    rl_mask = rasterio.features.rasterize([(redline, 1.0)], out_shape=cshape, transform=from_origin(x0, y1, PIXEL_M * COARSE, PIXEL_M * COARSE), dtype="float64")
    # soften the red-line edge (about 500 m) so forest does not follow it exactly
    rl_soft = smooth_field_like(rl_mask, sigma_px=2.0)
    forest_f += REDLINE_BONUS * upsample(rl_soft, shape, COARSE)
    other_c = np.stack([smooth_field(rng, cshape, sigma_px=3.0) for _ in NON_FOREST])

    # calibrate the forest threshold on the district's exact coverage weights
    rows, cols, frac, _ = polygon_coverage(district, transform, width, height)
    areas, _ = cell_areas_m2(f"EPSG:{epsg}", transform, rows, cols)
    t = weighted_threshold(forest_f[rows, cols], frac * areas, target / 100.0)
    forest = forest_f > t

    codes = np.zeros(shape, dtype=np.uint8)
    codes[forest] = 10
    # other classes: the largest of one smooth field per class, biased towards the wanted proportions
    bias = fit_biases(other_c, np.array([s for _, s in NON_FOREST]))
    other = np.argmax(np.stack([upsample(f, shape, COARSE) + b for f, b in zip(other_c, bias)]), axis=0)
    codes[~forest] = np.array([c for c, _ in NON_FOREST], dtype=np.uint8)[other[~forest]]

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{adcode}_landcover_demo.tif"
    note = (
        f"示意数据（非遥感解译）：{plan['name']}土地覆盖示意栅格，ESA WorldCover 分类编码，30 m，CGCS2000 3° 高斯-克吕格第{zone}带；"
        f"林地（编码10）比例按规划2020年森林覆盖率{target}%校准（{plan['seed']} 第{indicator(plan, 'forest_cover')['source']['line']}行），"
        "红线内林地更多；其余类别随机生成。"
    )
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": 1,
        "dtype": "uint8",
        "crs": f"EPSG:{epsg}",
        "transform": transform,
        "nodata": 0,
        "compress": "deflate",
        "zlevel": 9,
        "predictor": 1,
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
    }
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(codes, 1)
        ds.write_colormap(1, {k: (*v, 255) for k, v in COLORS.items()})
        ds.update_tags(
            DEMO="true",
            NOTE_ZH=note,
            NOTE_EN="DEMO land cover (not remote sensing), ESA WorldCover codes, calibrated to the plan's 2020 forest cover",
            LANDCOVER_PRESET="worldcover",
            CALIBRATED_FOREST_PCT=str(target),
            ADCODE=adcode,
            SEED=str(SEED),
            GENERATOR="data/build_demo_rasters.py",
        )
        ds.update_tags(1, CLASS_CODES="ESA WorldCover: 10 tree cover, 20 shrubland, 30 grassland, 40 cropland, 50 built-up, 60 bare, 80 water")
    check = class_share(path, district_ll, "worldcover", ("forest",))
    rl_in = class_share(path, shapely.intersection(redline_ll, district_ll), "worldcover", ("forest",))
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise SystemExit(f"{path} is {size} bytes > {MAX_BYTES}")
    if abs(check["share_pct"] - target) > 0.01:
        raise SystemExit(f"{path}: forest {check['share_pct']:.4f} % ≠ plan {target} %")
    return {
        "path": path,
        "bytes": size,
        "shape": shape,
        "epsg": epsg,
        "target": target,
        "forest_pct": check["share_pct"],
        "forest_in_redline_pct": rl_in["share_pct"],
    }


def smooth_field_like(mask: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian blur (FFT) of a 0/1 mask, values kept in [0, 1]."""
    h, w = mask.shape
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    kernel = np.exp(-2 * (math.pi * sigma_px) ** 2 * (fx**2 + fy**2))
    return np.clip(np.fft.irfft2(np.fft.rfft2(mask) * kernel, s=(h, w)), 0.0, 1.0)


def main(argv: list[str]) -> None:
    plans = load_plans(ROOT / "data" / "plans")
    districts = pyogrio.read_dataframe(GPKG, layer="district")
    redlines = pyogrio.read_dataframe(GPKG, layer="redline")
    wanted = argv or sorted(districts["adcode"].astype(str))
    for adcode in wanted:
        d = shapely.union_all(districts.loc[districts["adcode"].astype(str) == adcode].geometry.values)
        r = shapely.union_all(redlines.loc[redlines["adcode"].astype(str) == adcode].geometry.values)
        info = build(adcode, d, r, plans[adcode])
        print(
            f"{adcode} {plans[adcode]['name']}: {info['path'].relative_to(ROOT)} {info['shape'][1]}×{info['shape'][0]} px "
            f"EPSG:{info['epsg']} {info['bytes'] / 1e6:.2f} MB; forest {info['forest_pct']:.4f} % (plan 2020 {info['target']} %), "
            f"inside red line {info['forest_in_redline_pct']:.1f} %"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
