/* The OGC API pages' map: the page's features (embedded JSON, lon/lat) styled from the vocabulary,
 * no basemap (works offline), popups as DOM text (attribute values are untrusted). */
(function () {
  "use strict";
  var el = document.getElementById("ogc-map");
  if (!el || typeof L === "undefined") return;
  var data = JSON.parse(document.getElementById("ogc-map-data").textContent);
  var kindKey = JSON.parse(document.getElementById("ogc-map-kind").textContent);
  var vocab = JSON.parse(document.getElementById("zoning-vocabulary").textContent);
  var kind = vocab.kinds[kindKey] || {style: {}, popup_fields: []};
  function styleFor(f) {
    var style = Object.assign({}, kind.style);
    if (kind.style_by && f.properties && kind.style_values && kind.style_values[f.properties[kind.style_by]]) {
      Object.assign(style, kind.style_values[f.properties[kind.style_by]]);
    }
    return style;
  }
  function popup(f) {
    var box = document.createElement("div");
    var title = document.createElement("b");
    title.textContent = kind.name_zh + "：" + (f.properties.name || f.id);
    box.appendChild(title);
    (kind.popup_fields || []).forEach(function (pair) {
      if (pair[0] === "name" || f.properties[pair[0]] == null) return;
      var line = document.createElement("div");
      line.textContent = pair[1] + "：" + f.properties[pair[0]];
      box.appendChild(line);
    });
    return box;
  }
  var map = L.map(el, {attributionControl: true});
  map.attributionControl.setPrefix(false);
  var layer = L.geoJSON(data, {
    style: styleFor,
    pointToLayer: function (f, latlng) { return L.circleMarker(latlng, Object.assign({radius: 6}, styleFor(f))); },
    onEachFeature: function (f, l) { l.bindPopup(popup(f)); }
  }).addTo(map);
  L.control.scale({imperial: false}).addTo(map);
  var bounds = layer.getBounds();
  if (bounds.isValid()) map.fitBounds(bounds.pad(0.05)); else map.setView([29.5, 106.5], 7);
})();
