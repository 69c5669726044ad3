"""Pure GIS engine: CRS, ellipsoidal measures, plan data. No web framework imports."""
