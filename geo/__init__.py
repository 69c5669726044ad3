"""Pure GIS engine: CRS, ellipsoidal measures, plan data. No web framework imports."""
import os

# Uploaded files reach GDAL, which picks a driver by content, not by name. A VRT file can point
# at any local path or URL and read it as a table, so the VRT drivers are never registered and
# GDAL's network file systems are off. Set here because geo/ is imported before pyogrio is.
os.environ.setdefault("GDAL_SKIP", "OGR_VRT VRT")
os.environ.setdefault("GDAL_HTTP_TIMEOUT", "1")
os.environ.setdefault("CPL_VSIL_CURL_ALLOWED_EXTENSIONS", ".none-allowed")
os.environ.setdefault("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR")
