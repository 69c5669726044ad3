"""What the service draws and prints: Folium maps for the pages, the SVG map and PDF of a screening report."""
