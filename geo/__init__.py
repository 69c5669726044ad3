"""Pure GIS engine: CRS, ellipsoidal measures, plan data. No web framework imports."""
from geo.uploads import harden_gdal

# Before anything imports pyogrio or rasterio: GDAL reads its driver rules once, at registration.
harden_gdal()
