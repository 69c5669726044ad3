/* District "一张图" map helpers: remote GeoJSON layers styled from the layer catalogue,
 * popups built as DOM text (attribute values are untrusted), search by feature name,
 * and a coordinate readout in CGCS2000 lon/lat and Gauss-Krüger 3° zone X/Y.
 * Loaded from the app itself: no external requests. */
(function () {
  "use strict";

  var registry = [];  // {layer, config} for search

  function styleFor(config, feature) {
    var style = Object.assign({}, config.style);
    if (config.style_by && feature && feature.properties) {
      var extra = config.style_values[feature.properties[config.style_by]];
      if (extra) Object.assign(style, extra);
    }
    if (config.hatch) {  // outline and hatch (as on the printed maps): a kind underneath keeps its own colour
      style.fillColor = "url(#" + hatchPattern(config.key, style.color || "#c00000", style.fillOpacity) + ")";
      style.fillOpacity = 1;
    }
    return style;
  }

  var SVG_NS = "http://www.w3.org/2000/svg";

  function svgEl(tag, attrs) {
    var e = document.createElementNS(SVG_NS, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }

  /* A <pattern> of diagonal lines in the page (Leaflet's SVG paths fill with url(#id)); made once per kind and opacity. */
  function hatchPattern(key, color, opacity) {
    var id = "zm-hatch-" + key + "-" + Math.round((opacity === undefined ? 0.35 : opacity) * 100);
    if (document.getElementById(id)) return id;
    var holder = document.getElementById("zm-patterns");
    if (!holder) {
      holder = svgEl("svg", {id: "zm-patterns", width: 0, height: 0, "aria-hidden": "true"});
      holder.style.position = "absolute";
      holder.appendChild(svgEl("defs", {}));
      document.body.appendChild(holder);
    }
    var a = opacity === undefined ? 0.35 : opacity;
    var p = svgEl("pattern", {id: id, patternUnits: "userSpaceOnUse", width: 7, height: 7, patternTransform: "rotate(45)"});
    p.appendChild(svgEl("rect", {width: 7, height: 7, fill: color, "fill-opacity": Math.min(0.12, a / 3)}));
    p.appendChild(svgEl("line", {x1: 1, y1: 0, x2: 1, y2: 7, stroke: color, "stroke-width": 1.6, "stroke-opacity": Math.min(1, a * 2.4)}));
    holder.firstChild.appendChild(p);
    return id;
  }

  /* One marker or legend symbol per level shape (vocabulary monitoring_levels / air_station_levels):
   * 国控 square, 市控 circle, 区控 triangle, 微站 diamond; "polygon" and "hatch" are area swatches. */
  function symbol(shape, fill, stroke, size) {
    var s = size, h = s / 2, box = svgEl("svg", {width: s, height: s, viewBox: "0 0 " + s + " " + s, "class": "zm-symbol"});
    var common = {fill: fill || "none", stroke: stroke || "#222", "stroke-width": 1.5};
    var shapes = {
      circle: function () { return svgEl("circle", Object.assign({cx: h, cy: h, r: h - 1.5}, common)); },
      square: function () { return svgEl("rect", Object.assign({x: 1.5, y: 1.5, width: s - 3, height: s - 3}, common)); },
      triangle: function () { return svgEl("polygon", Object.assign({points: h + ",1.5 " + (s - 1.5) + "," + (s - 1.5) + " 1.5," + (s - 1.5)}, common)); },
      diamond: function () { return svgEl("polygon", Object.assign({points: h + ",1 " + (s - 1) + "," + h + " " + h + "," + (s - 1) + " 1," + h}, common)); },
      polygon: function () { return svgEl("rect", Object.assign({x: 1, y: 3, width: s - 2, height: s - 6}, common)); },
      hatch: function () {
        var g = svgEl("g", {});
        g.appendChild(svgEl("rect", {x: 1, y: 3, width: s - 2, height: s - 6, fill: "url(#" + hatchPattern("legend", stroke || "#c00000", 0.35) + ")",
                                     stroke: stroke || "#c00000", "stroke-width": 1.5}));
        return g;
      }
    };
    box.appendChild((shapes[shape] || shapes.circle)());
    return box;
  }

  function levelIcon(shape, fill, size) {
    var holder = document.createElement("div");
    holder.appendChild(symbol(shape, fill, "#222", size));
    return L.divIcon({className: "zm-level-icon", html: holder.innerHTML, iconSize: [size, size], iconAnchor: [size / 2, size / 2],
                      popupAnchor: [0, -size / 2], tooltipAnchor: [size / 2, 0]});
  }

  /* Leaflet inserts string content as HTML; names come from uploaded data, so pass them as text. */
  function textNode(value) {
    var span = document.createElement("span");
    span.textContent = String(value);
    return span;
  }

  function fmt(value, digits) {
    return Number(value).toLocaleString("zh-CN", {minimumFractionDigits: digits, maximumFractionDigits: digits});
  }

  function row(table, label, value) {
    var tr = document.createElement("tr");
    var th = document.createElement("th");
    var td = document.createElement("td");
    th.textContent = label;
    td.textContent = value === null || value === undefined || value === "" ? "—" : String(value);
    tr.appendChild(th);
    tr.appendChild(td);
    table.appendChild(tr);
  }

  function popupContent(config, props) {
    var box = document.createElement("div");
    box.className = "zm-popup";
    var title = document.createElement("h4");
    title.textContent = config.name_zh + "：" + (props.name || "");
    box.appendChild(title);
    var table = document.createElement("table");
    config.popup_fields.forEach(function (f) {
      if (f[0] !== "name") row(table, f[1], props[f[0]]);
    });
    if (props.area_m2 !== undefined) {
      row(table, "面积", fmt(props.area_km2, 4) + " km²（" + fmt(props.area_ha, 2) + " 公顷）");
      row(table, "面积算法", "CGCS2000 椭球面积（GRS80）");
    }
    row(table, "数据来源", props.source ? String(props.source).split(" / ")[0] : props.source);  // the Chinese half of a bilingual note
    box.appendChild(table);
    if (props.is_demo) {
      var demo = document.createElement("p");
      demo.className = "zm-demo";
      var words = vocabulary();
      demo.textContent = words.statuses.data.demo.label + "：非官方矢量，仅供演示，以主管部门审定数据为准。";
      box.appendChild(demo);
    }
    if (config.rules && config.rules.length) {
      var h = document.createElement("h5");
      h.textContent = "规划管控要求（" + config.plan_title + "）";
      box.appendChild(h);
      config.rules.forEach(function (r) {
        var p = document.createElement("p");
        p.className = "zm-rule";
        p.textContent = r.text + "（第 " + r.line + " 行）";
        box.appendChild(p);
      });
    }
    return box;
  }

  /* The diagonal hatch of a kind drawn on a canvas (vector tiles fill with a canvas pattern, not an SVG one). */
  function hatchCanvas(color, opacity) {
    var c = document.createElement("canvas"), g, a = opacity === undefined ? 0.35 : opacity;
    c.width = c.height = 8;
    g = c.getContext("2d");
    g.globalAlpha = Math.min(0.12, a / 3);
    g.fillStyle = color;
    g.fillRect(0, 0, 8, 8);
    g.globalAlpha = Math.min(1, a * 2.4);
    g.strokeStyle = color;
    g.lineWidth = 1.6;
    g.beginPath();
    g.moveTo(-1, 9); g.lineTo(9, -1);
    g.moveTo(-1, 1); g.lineTo(1, -1);
    g.moveTo(7, 9); g.lineTo(9, 7);
    g.stroke();
    return c;
  }

  var PICK_PX = 4;  // a click on a line or an edge within this many pixels picks it

  function metresPerPixel(map, lat) {
    return 40075016.686 * Math.cos(lat * Math.PI / 180) / Math.pow(2, map.getZoom() + 8);
  }

  /* A click on the map asks each tiled layer shown (topmost first) what lies under it: attributes and areas from
   * the server (services/districts.py layer_features_at), the popup the same as a GeoJSON feature's. */
  function pickTiled(map, e) {
    var shown = registry.filter(function (l) { return l.zmTiled && map.hasLayer(l); }).reverse();
    if (!shown.length) return;
    var tol = (PICK_PX * metresPerPixel(map, e.latlng.lat)).toFixed(1);
    Promise.all(shown.map(function (l) {
      var q = new URLSearchParams({lon: e.latlng.lng.toFixed(7), lat: e.latlng.lat.toFixed(7), tolerance_m: Math.min(1000, tol)});
      return fetch(l.zmConfig.at_url + "?" + q.toString()).then(function (r) { return r.ok ? r.json() : {features: []}; })
        .then(function (fc) { return {layer: l, features: fc.features}; }, function () { return {layer: l, features: []}; });
    })).then(function (found) {
      var hit = found.find(function (f) { return f.features.length; });
      if (!hit) return;
      var box = popupContent(hit.layer.zmConfig, hit.features[0].properties);
      if (hit.features.length > 1) {
        var more = document.createElement("p");
        more.className = "zm-rule";
        more.textContent = "此处另有 " + (hit.features.length - 1) + " 个" + hit.layer.zmConfig.name_zh + "要素重叠。";
        box.appendChild(more);
      }
      L.popup({maxWidth: 380, minWidth: 260}).setLatLng(e.latlng).setContent(box).openOn(map);
      window.ZoningMap.lastPick = {kind: hit.layer.zmConfig.key, ids: hit.features.map(function (f) { return f.id; })};
    });
  }

  /* A layer too heavy for one GeoJSON download (services/layer_tiles.py), drawn from its vector tiles in the
   * styles of the GeoJSON one; its search entries come from the feature index (names and bounds, no geometry). */
  function tiledLayer(config) {
    var P = window.protomapsL, base = styleFor(config, null), paint = [];
    function plain(f) {  // the style without the SVG hatch, for one tile feature
      var st = Object.assign({}, config.style);
      var extra = config.style_by && config.style_values[f.props[config.style_by]];
      return extra ? Object.assign(st, extra) : st;
    }
    if (config.style.fill !== false) {
      var fill = config.hatch ? {pattern: hatchCanvas(config.style.color || "#c00000", config.style.fillOpacity), opacity: 1} :
        {fill: function (z, f) { var st = plain(f); return st.fillColor || st.color; },
         opacity: function (z, f) { var o = plain(f).fillOpacity; return o === undefined ? 0.2 : o; }};
      paint.push({dataLayer: config.tile_layer, filter: function (z, f) { return f.geomType === 3; }, symbolizer: new P.PolygonSymbolizer(fill)});
    }
    paint.push({dataLayer: config.tile_layer, symbolizer: new P.LineSymbolizer({
      color: function (z, f) { return plain(f).color || "#333"; }, width: base.weight || 1,
      opacity: base.opacity === undefined ? 1 : base.opacity})});
    var layer = P.leafletLayer({url: config.tiles, maxDataZoom: config.max_zoom, maxZoom: 20, paintRules: paint, labelRules: [],
                                attribution: config.attribution, pane: "zmTiles"});
    layer.zmConfig = config;
    layer.zmTiled = true;
    layer.beforeAdd = function (map) {  // Leaflet calls it before onAdd, which puts the tiles in the pane
      if (!map.getPane("zmTiles")) {
        map.createPane("zmTiles").style.zIndex = 390;  // above the base map, under the GeoJSON layers' SVG
        map.getPane("zmTiles").style.pointerEvents = "none";  // clicks reach the map: pickTiled answers them
      }
      if (!map.zmPicks) { map.zmPicks = true; map.on("click", function (ev) { pickTiled(map, ev); }); }
    };
    layer.zmReady = fetch(config.index_url)
      .then(function (r) {
        if (!r.ok) throw new Error(config.index_url + " → HTTP " + r.status);
        return r.json();
      })
      .then(function (index) {
        layer.zmIndex = index.features;
        layer.zmCount = index.features.length;
        return layer;
      });
    registry.push(layer);
    return layer;
  }

  function remoteLayer(config) {
    if (config.tiles) return tiledLayer(config);
    var layer = L.geoJSON(null, {
      attribution: config.attribution,
      style: function (f) { return styleFor(config, f); },
      pointToLayer: function (f, latlng) {
        var style = styleFor(config, f), level = config.symbols && f.properties && config.symbols[f.properties.level];
        if (level) return L.marker(latlng, {icon: levelIcon(level.shape, style.fillColor, 2 * level.radius + 2), keyboard: false});
        return L.circleMarker(latlng, style);
      },
      onEachFeature: function (f, lyr) {
        lyr.bindPopup(function () { return popupContent(config, f.properties); }, {maxWidth: 380});
        if (f.properties && f.properties.name) lyr.bindTooltip(textNode(f.properties.name), {sticky: true});
      }
    });
    layer.zmConfig = config;
    layer.zmReady = fetch(config.url, {headers: {Accept: "application/geo+json"}})
      .then(function (r) {
        if (!r.ok) throw new Error(config.url + " → HTTP " + r.status);
        return r.json();
      })
      .then(function (data) {
        layer.addData(data);
        layer.zmCount = data.features.length;
        return layer;
      });
    registry.push(layer);
    return layer;
  }

  function blankBase() {
    return L.layerGroup([], {attribution: "无底图（离线）"});
  }

  function vocabulary() {
    return JSON.parse(document.getElementById("zoning-vocabulary").textContent);  // data/vocabulary.yaml
  }

  var LABEL_FONT = "12px 'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', 'PingFang SC', sans-serif";

  /* A vector basemap drawn in the browser (protomaps-leaflet, vendored) by layer class: colours, widths and
   * label colours from the vocabulary's basemap_layers, classes from the archive (flask basemap build). */
  function vectorBase(cfg) {
    var classes = vocabulary().basemap_layers, paint = [], labels = [];
    var P = window.protomapsL;
    function isType(t) { return function (z, f) { return f.geomType === t; }; }
    Object.keys(classes).forEach(function (key) {
      var spec = classes[key];
      Object.keys(cfg.classes).filter(function (l) { return cfg.classes[l] === key; }).forEach(function (dataLayer) {
        var minzoom = spec.min_zoom || 0;
        if (spec.fill) paint.push({dataLayer: dataLayer, minzoom: minzoom, filter: isType(3), symbolizer: new P.PolygonSymbolizer({fill: spec.fill, opacity: 1})});
        if (spec.line) {
          var line = {color: spec.line, width: spec.width || 1};
          if (spec.dash) line.dash = spec.dash;
          paint.push({dataLayer: dataLayer, minzoom: minzoom, filter: function (z, f) { return f.geomType !== 1; }, symbolizer: new P.LineSymbolizer(line)});
        }
        if (spec.dot) {
          paint.push({dataLayer: dataLayer, minzoom: minzoom, filter: isType(1),
                      symbolizer: new P.CircleSymbolizer({radius: 2.5, fill: spec.line || "#555", stroke: "#fff", width: 1})});
        }
        if (spec.text) {
          var text = {labelProps: ["name"], fill: spec.text, stroke: "#ffffff", width: 2.5, font: LABEL_FONT};
          var lz = Math.max(minzoom, 6);
          labels.push({dataLayer: dataLayer, minzoom: lz, filter: isType(2), symbolizer: new P.LineLabelSymbolizer(text)});
          labels.push({dataLayer: dataLayer, minzoom: lz, filter: isType(1),
                       symbolizer: spec.dot ? new P.OffsetTextSymbolizer(Object.assign({offsetX: 5, offsetY: 2}, text)) : new P.CenteredTextSymbolizer(text)});
        }
      });
    });
    return P.leafletLayer({url: cfg.tiles, maxDataZoom: cfg.max_zoom, maxZoom: 20, paintRules: paint, labelRules: labels,
                           backgroundColor: "#f7f6f2", attribution: cfg.attribution});
  }

  /* A tile layer that cannot load says so on the map, once, and points to the offline ones. */
  function watchTiles(map, layer, cfg) {
    var failed = 0, loaded = 0, shown = false;
    layer.on("tileload", function () { loaded += 1; });
    layer.on("tileerror", function () {
      failed += 1;
      if (shown || loaded > 0 || failed < 2 || !map.hasLayer(layer)) return;
      shown = true;
      var box = document.createElement("div");
      box.className = "zm-base-failed";
      box.setAttribute("role", "alert");
      box.textContent = "底图“" + cfg.label + "”无法加载（" + (cfg.offline ? "瓦片文件不可读" : "无网络或地址不可达") +
        "）。可在右上角图层控制中改用离线底图“参考底图”或“无底图”，专题图层不受影响。";
      map.getContainer().appendChild(box);
      map.once("baselayerchange", function () { box.remove(); shown = false; failed = 0; });
    });
  }

  /* One entry of services/basemaps.py's list: blank, vector (served by the app) or raster tiles. */
  function baseLayer(cfg) {
    var map = null, layer;
    if (cfg.kind === "blank") return blankBase();
    if (cfg.kind === "vector") {
      layer = vectorBase(cfg);
    } else {
      var opts = {attribution: cfg.attribution, maxNativeZoom: cfg.max_zoom, maxZoom: 20};
      if (cfg.subdomains) opts.subdomains = cfg.subdomains;
      var parts = [L.tileLayer(cfg.tiles, opts)].concat((cfg.overlays || []).map(function (u) { return L.tileLayer(u, opts); }));
      layer = parts.length > 1 ? L.layerGroup(parts) : parts[0];
      layer.on("add", function (e) {
        if (map) return;
        map = e.target._map;
        parts.forEach(function (p) { watchTiles(map, p, cfg); });
      });
    }
    if (cfg.kind === "vector") {
      layer.on("add", function (e) { if (!map) { map = e.target._map; watchTiles(map, layer, cfg); } });
    }
    layer.zmBase = cfg;
    return layer;
  }

  /* Typed coordinates: "经度,纬度" (either order: the values tell), or Gauss-Krüger "X(北),Y(东)" / "Y,X" with the zone
   * prefix on the easting, or without it in the zone of the map's centre. Returns {lat, lon, text} or null. */
  function parseCoordinates(text, map) {
    var nums = (text.match(/-?\d+(?:\.\d+)?/g) || []).map(Number);
    if (nums.length !== 2 || !/^[\s\d.,，;；:：\-°A-Za-z()（）=]*$/.test(text)) return null;
    var a = nums[0], b = nums[1], c = rules();
    function lonlat(lon, lat) { return lon >= 73 && lon <= 136 && lat >= 3 && lat <= 54; }
    if (lonlat(a, b)) return {lon: a, lat: b, text: "经度 " + a + "°，纬度 " + b + "°"};
    if (lonlat(b, a)) return {lon: b, lat: a, text: "经度 " + b + "°，纬度 " + a + "°（按数值判断，第一个数为纬度）"};
    if (!c || !c.gk3) return null;
    function gk(east, northing) {
      var zone, plainEast = east;
      if (east >= 1e7) { zone = Math.floor(east / 1e6); plainEast = east - zone * 1e6; }
      var z = zone ? c.gk3.zones.find(function (r) { return r.zone === zone; }) :
        c.gk3.zones.find(function (r) { var lon = map.getCenter().lng; return lon >= r.lon_min && lon < r.lon_max; });
      if (!z || plainEast < 1e5 || plainEast > 9e5 || northing < 2e6 || northing > 6e6) return null;
      var ll = proj4(z.proj4, "EPSG:4326", [z.zone * 1e6 + plainEast, northing]);
      return {lon: ll[0], lat: ll[1], text: "高斯-克吕格 3° 第" + z.zone + "带 X(北) " + northing + " m，Y(东) " + (z.zone * 1e6 + plainEast) + " m" +
              (zone ? "" : "（未写带号，按地图中心所在的第" + z.zone + "带）")};
    }
    return gk(a, b) || gk(b, a);  // gk() checks the ranges, so the order is told by the values
  }

  var jumpMarker = null;

  function jumpTo(map, where) {
    if (jumpMarker) map.removeLayer(jumpMarker);
    jumpMarker = L.circleMarker([where.lat, where.lon], {radius: 8, color: "#000", weight: 2, fillColor: "#ffeb3b", fillOpacity: 1}).addTo(map);
    jumpMarker.bindPopup(textNode("输入的坐标：" + where.text + "（CGCS2000 经度 " + where.lon.toFixed(6) + "°，纬度 " + where.lat.toFixed(6) + "°）"));
    map.setView([where.lat, where.lon], Math.max(map.getZoom(), 15), {animate: false});
    jumpMarker.openPopup();
    window.ZoningMap.lastJump = where;
  }

  /* Search box: every feature name of every loaded layer, found by any part of the name or by its pinyin initials
   * (initials: name → initials, computed by the server); or typed coordinates to jump to. */
  function searchControl(map, initials) {
    window.ZoningMap.map = map;  // for tests and the console
    initials = initials || {};
    var ctl = L.control({position: "topleft"});
    ctl.onAdd = function () {
      var div = L.DomUtil.create("div", "zm-search leaflet-bar");
      var input = L.DomUtil.create("input", "", div);
      input.type = "search";
      input.placeholder = "搜索名称、拼音首字母或坐标…";
      input.setAttribute("aria-label", "按名称、拼音首字母或坐标搜索");
      input.setAttribute("autocomplete", "off");
      var list = L.DomUtil.create("ul", "zm-search-results", div);
      list.setAttribute("role", "listbox");
      list.hidden = true;
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      var entries = [];
      Promise.all(registry.map(function (l) { return l.zmReady.catch(function () { return l; }); })).then(function () {
        var seen = {};
        registry.forEach(function (l) {
          (l.zmIndex || []).forEach(function (f) {  // a tiled layer: its index (names and bounds)
            if (f.name && !seen[f.name]) {
              seen[f.name] = true;
              entries.push({name: String(f.name), initials: initials[f.name] || "", bbox: f.bbox, owner: l});
            }
          });
          if (l.zmTiled) return;
          l.eachLayer(function (f) {
            var n = f.feature && f.feature.properties && f.feature.properties.name;
            if (n && !seen[n]) {
              seen[n] = true;
              entries.push({name: String(n), initials: initials[n] || "", feature: f, owner: l});
            }
          });
        });
        div.dataset.ready = "1";
      });
      function pick(e) {
        list.hidden = true;
        input.value = e.name;
        if (!map.hasLayer(e.owner)) map.addLayer(e.owner);
        if (e.bbox) {  // a tiled layer's feature: shown by its bounds, its attributes on a click
          map.fitBounds([[e.bbox[1], e.bbox[0]], [e.bbox[3], e.bbox[2]]], {maxZoom: 14});
          L.popup({maxWidth: 380}).setLatLng([(e.bbox[1] + e.bbox[3]) / 2, (e.bbox[0] + e.bbox[2]) / 2])
            .setContent(textNode(e.owner.zmConfig.name_zh + "：" + e.name + "（点击图斑查看属性）")).openOn(map);
          return;
        }
        if (e.feature.getBounds) map.fitBounds(e.feature.getBounds(), {maxZoom: 14}); else map.setView(e.feature.getLatLng(), 14);
        e.feature.openPopup();
      }
      function matches(q) {
        var low = q.toLowerCase().replace(/\s+/g, "");
        if (!low) return [];
        var ascii = /^[a-z]+$/.test(low);
        return entries.map(function (e) {
          var at = e.name.toLowerCase().indexOf(low), score = at === 0 ? 0 : at > 0 ? 1 : -1;
          if (score < 0 && ascii) { var i = e.initials.indexOf(low); score = i === 0 ? 2 : i > 0 ? 3 : -1; }
          return {e: e, score: score};
        }).filter(function (m) { return m.score >= 0; })
          .sort(function (x, y) { return x.score - y.score || x.e.name.length - y.e.name.length; })
          .slice(0, 12).map(function (m) { return m.e; });
      }
      function show(q) {
        list.innerHTML = "";
        if (!q.trim()) { list.hidden = true; return []; }
        var found = matches(q), where = found.length ? null : parseCoordinates(q, map);
        if (where) {
          var li = L.DomUtil.create("li", "zm-search-coord", list);
          li.textContent = "定位到 " + where.text;
          li.addEventListener("click", function () { list.hidden = true; jumpTo(map, where); });
        } else if (!found.length) {
          var none = L.DomUtil.create("li", "zm-search-none", list);
          none.textContent = "未找到“" + q + "”：可输入名称的一部分（如“玉龙山”）、拼音首字母，或坐标（经度,纬度 / X,Y）";
        }
        found.forEach(function (e) {
          var li = L.DomUtil.create("li", "", list);
          li.setAttribute("role", "option");
          li.appendChild(textNode(e.name));
          var kind = L.DomUtil.create("small", "", li);
          kind.textContent = " " + e.owner.zmConfig.name_zh;
          li.addEventListener("click", function () { pick(e); });
        });
        list.hidden = false;
        return where ? [where] : found;
      }
      input.addEventListener("input", function () { show(input.value); });
      input.addEventListener("keydown", function (ev) {
        if (ev.key === "Escape") { list.hidden = true; return; }
        if (ev.key !== "Enter") return;
        ev.preventDefault();
        var got = show(input.value);
        if (!got.length) return;
        if (got[0].feature) pick(got[0]); else { list.hidden = true; jumpTo(map, got[0]); }
      });
      return div;
    };
    return ctl.addTo(map);
  }

  /* The screened sites: black outlines, points as yellow dots; with several sites each gets a label "序号 名称". */
  function sitesLayer(map, sites, label) {
    var layer = L.geoJSON(sites, {
      style: function () { return {color: "#000", weight: 3, fillOpacity: 0}; },
      pointToLayer: function (f, latlng) { return L.circleMarker(latlng, {radius: 7, color: "#000", weight: 2, fillColor: "#ffeb3b", fillOpacity: 1}); },
      onEachFeature: function (f, lyr) {
        var text = (label ? f.properties.index + " " : "") + f.properties.name;
        lyr.bindTooltip(textNode(text), label ? {permanent: true, direction: "top", className: "zm-site-label"} : {sticky: true});
      }
    }).addTo(map);
    window.ZoningMap.sites = layer;
    return layer;
  }

  /* Zone rules come from the page (<script type="application/json" id="crs-rules">, written from
   * geo.crs.ui_rules()): each 3° zone's longitude span, number, EPSG code and PROJ definition. */
  var crsRules;

  function rules() {
    if (crsRules === undefined) {
      var el = document.getElementById("crs-rules");
      crsRules = null;
      if (el) {
        try { crsRules = JSON.parse(el.textContent); } catch (err) { crsRules = null; }
      }
    }
    return crsRules;
  }

  /* Gauss-Krüger 3° coordinates (zone prefix on the easting), or null outside the zones the rules list. */
  function gk3(lon, lat) {
    var r = rules();
    if (!r || !r.gk3) return null;
    var zone = r.gk3.zones.find(function (z) { return lon >= z.lon_min && lon < z.lon_max; });
    if (!zone) return null;
    var xy = proj4("EPSG:4326", zone.proj4, [lon, lat]);
    return {zone: zone.zone, epsg: zone.epsg, centralMeridian: zone.central_meridian, east: xy[0], north: xy[1]};
  }

  function coordsControl(map) {
    var ctl = L.control({position: "bottomleft"});
    ctl.onAdd = function () {
      var div = L.DomUtil.create("div", "zm-coords");
      div.id = "zm-coords";
      div.textContent = "移动鼠标显示坐标";
      map.on("mousemove", function (e) {
        var lon = e.latlng.lng, lat = e.latlng.lat, g = gk3(lon, lat);
        var text = "CGCS2000 经度 " + lon.toFixed(6) + "° 纬度 " + lat.toFixed(6) + "°";
        div.dataset.lon = lon; div.dataset.lat = lat;
        if (g) {
          text += "  |  高斯-克吕格 3° 第" + g.zone + "带（" + g.centralMeridian + "°E，EPSG:" + g.epsg + "） X(北) " +
            g.north.toFixed(2) + " m  Y(东) " + g.east.toFixed(2) + " m";
          div.dataset.north = g.north; div.dataset.east = g.east; div.dataset.zone = g.zone; div.dataset.epsg = g.epsg;
        } else {
          ["north", "east", "zone", "epsg"].forEach(function (k) { delete div.dataset[k]; });
        }
        div.textContent = text;
      });
      return div;
    };
    return ctl.addTo(map);
  }

  var PHONE_WIDTH_PX = 600;

  function narrow(map) { return map.getSize().x < PHONE_WIDTH_PX; }

  /* Popups sized to the map (never wider or taller than it, the close button always on screen, the map panned to
   * show them) and, on a phone, the layer control folded behind its button. Called for every map (render/maps.py). */
  function fitToScreen(map) {
    map.on("popupopen", function (e) {
      var size = map.getSize(), o = e.popup.options;
      o.maxWidth = Math.max(180, Math.min(o.maxWidth || 380, size.x - 60));
      o.maxHeight = Math.max(120, size.y - (narrow(map) ? 70 : 110));
      o.autoPan = true;
      o.autoPanPadding = L.point(12, 12);
      o.keepInView = true;
      if (narrow(map)) {  // a phone: the popup has the map to itself until it is closed
        var box = map.getContainer();
        box.classList.add("zm-popup-open");
        box.querySelectorAll(".leaflet-control-layers-expanded").forEach(function (c) { c.classList.remove("leaflet-control-layers-expanded"); });
      }
      e.popup.update();
    });
    map.on("popupclose", function () { map.getContainer().classList.remove("zm-popup-open"); });
    map.whenReady(function () { setTimeout(function () { foldControls(map); }, 0); });  // after the page's controls are added
  }

  function foldControls(map) {
    if (!narrow(map)) return;
    map.getContainer().classList.add("zm-phone");
    document.querySelectorAll(".leaflet-control-layers").forEach(function (ctl) {
      if (!map.getContainer().contains(ctl) || ctl.dataset.zmFolded) return;
      ctl.dataset.zmFolded = "1";
      ctl.classList.remove("leaflet-control-layers-expanded");  // Leaflet's own button expands it again
      var toggle = ctl.querySelector(".leaflet-control-layers-toggle");
      if (toggle) toggle.title = "图层与底图";
      map.on("click", function () { ctl.classList.remove("leaflet-control-layers-expanded"); });
    });
  }

  function legendControl(map, items) {
    var ctl = L.control({position: "bottomright"});
    ctl.onAdd = function () {
      var div = L.DomUtil.create("div", "zm-legend");
      var h = document.createElement("button");
      h.type = "button";
      h.className = "zm-legend-toggle";
      h.textContent = "图例";
      h.setAttribute("aria-expanded", "true");
      div.appendChild(h);
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      h.addEventListener("click", function () {
        var folded = div.classList.toggle("zm-folded");
        h.setAttribute("aria-expanded", folded ? "false" : "true");
      });
      if (narrow(map)) { div.classList.add("zm-folded"); h.setAttribute("aria-expanded", "false"); }
      items.forEach(function (group) {
        var g = document.createElement("div");
        g.className = "zm-legend-group";
        g.textContent = group.title;
        div.appendChild(g);
        group.items.forEach(function (it) {
          var line = document.createElement("div");
          var sw = symbol(it.shape || "polygon", it.fill || "none", it.color, 14);
          sw.classList.add("zm-swatch");
          line.appendChild(sw);
          line.appendChild(document.createTextNode(it.label));
          div.appendChild(line);
        });
      });
      return div;
    };
    return ctl.addTo(map);
  }

  /* Measuring with leaflet-draw's handlers (length on the sphere, area geodesic), without eval:
   * the CSP allows no string-evaluated script, which rules out leaflet-measure's templates. */
  var measureMode = null;
  var measured = null;

  function showMeasure(map, layer) {
    measureMode = null;
    if (!measured) measured = L.featureGroup().addTo(map);
    measured.clearLayers();
    measured.addLayer(layer);
    var text;
    if (layer instanceof L.Polygon) {
      var m2 = L.GeometryUtil.geodesicArea(layer.getLatLngs()[0]);
      text = "面积 " + fmt(m2, 0) + " m² ＝ " + fmt(m2 / 10000, 4) + " 公顷 ＝ " + fmt(m2 / 666.6667, 2) + " 亩";
    } else {
      var pts = layer.getLatLngs(), d = 0;
      for (var i = 1; i < pts.length; i++) d += pts[i - 1].distanceTo(pts[i]);
      text = "长度 " + fmt(d, 1) + " m";
    }
    var box = textNode(text + "（球面近似量算，与椭球面积相差约 0.3%，仅供参考；正式面积请用选址初筛）");
    box.className = "zm-measure-result";
    layer.bindPopup(box).openPopup();
  }

  function measureControl(map) {
    if (!L.Draw) return null;
    var ctl = L.control({position: "topleft"});
    ctl.onAdd = function () {
      var div = L.DomUtil.create("div", "leaflet-bar zm-measure");
      [["line", "测距", "测量距离"], ["area", "测面", "测量面积"]].forEach(function (item) {
        var a = L.DomUtil.create("a", "zm-measure-" + item[0], div);
        a.href = "#";
        a.textContent = item[1];
        a.title = item[2];
        L.DomEvent.on(a, "click", function (ev) {
          L.DomEvent.preventDefault(ev);
          L.DomEvent.stopPropagation(ev);
          measureMode = item[0];
          var opts = {shapeOptions: {color: "#ff7800", weight: 3}, metric: true, showLength: true};
          (item[0] === "line" ? new L.Draw.Polyline(map, opts) : new L.Draw.Polygon(map, opts)).enable();
        });
      });
      return div;
    };
    return ctl.addTo(map);
  }

  /* Draw a polygon, rectangle or point and screen it (POST /api/screen), then open the result page. */
  function drawScreen(map, adcode) {
    if (!L.Control.Draw) return null;
    var t = L.drawLocal.draw.toolbar, h = L.drawLocal.draw.handlers;
    t.buttons.polygon = "绘制项目范围（多边形）并初筛";
    t.buttons.rectangle = "绘制矩形范围并初筛";
    t.buttons.marker = "点选项目位置并初筛";
    t.actions.text = "取消"; t.finish.text = "完成"; t.undo.text = "删除最后一点";
    h.polygon.tooltip = {start: "单击开始绘制项目范围", cont: "单击继续", end: "单击第一个点闭合"};
    h.rectangle.tooltip = {start: "按住并拖动绘制矩形"};
    h.marker.tooltip = {start: "单击地图放置项目位置"};
    h.simpleshape.tooltip = {end: "松开鼠标完成"};
    var drawn = new L.FeatureGroup().addTo(map);
    var ctl = new L.Control.Draw({
      position: "topleft",
      draw: {polyline: false, circle: false, circlemarker: false, marker: true,
             polygon: {allowIntersection: true, showArea: false}, rectangle: {showArea: false}},
      edit: false
    });
    map.addControl(ctl);
    var status = L.control({position: "topleft"});
    status.onAdd = function () { var d = L.DomUtil.create("div", "zm-status"); d.id = "zm-screen-status"; return d; };
    status.addTo(map);
    map.on(L.Draw.Event.CREATED, function (e) {
      if (measureMode) { showMeasure(map, e.layer); return; }
      drawn.clearLayers();
      drawn.addLayer(e.layer);
      var box = document.getElementById("zm-screen-status");
      box.textContent = "正在初筛…";
      // through the screening form (not the cookie-free API): the result is the signed-in user's, in 我的初筛
      var form = document.createElement("form");
      form.method = "post";
      form.action = "/screen";
      form.hidden = true;
      var token = document.querySelector('meta[name="csrf-token"]');
      [["csrf_token", token ? token.content : ""], ["coordinates", JSON.stringify(e.layer.toGeoJSON().geometry)],
       ["coord_source", "gps"], ["crs", "EPSG:4490"], ["district", adcode]].forEach(function (kv) {
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = kv[0];
        input.value = kv[1];
        form.appendChild(input);
      });
      document.body.appendChild(form);
      form.submit();
    });
    return ctl;
  }

  /* 打印/导出地图: the current view (bounds and the layers shown) printed by the server as an A4/A3 PDF or PNG. */
  function printUrl(map, adcode, opts) {
    var b = map.getBounds();
    var kinds = registry.filter(function (l) { return map.hasLayer(l) && l.zmConfig.key !== "district"; })
      .map(function (l) { return l.zmConfig.key; });
    var q = new URLSearchParams({bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return v.toFixed(6); }).join(","),
                                 layers: kinds.join(","), paper: opts.paper, title: opts.title});
    return "/districts/" + encodeURIComponent(adcode) + "/print." + opts.format + "?" + q.toString();
  }

  function printControl(map, adcode, title) {
    var ctl = L.control({position: "topleft"});
    ctl.onAdd = function () {
      var div = L.DomUtil.create("div", "leaflet-bar zm-print");
      var toggle = L.DomUtil.create("a", "zm-print-toggle", div);
      toggle.href = "#";
      toggle.textContent = "打印";
      toggle.title = "打印/导出地图（当前范围，A4/A3 PDF 或 PNG）";
      var panel = L.DomUtil.create("form", "zm-print-panel", div);
      panel.hidden = true;
      panel.innerHTML = '<label>图名 <input name="title" maxlength="60"></label>' +
        '<label>纸张 <select name="paper"><option value="A4">A4 横向</option><option value="A3">A3 横向</option></select></label>' +
        '<label>格式 <select name="format"><option value="pdf">PDF</option><option value="png">PNG</option></select></label>' +
        '<button type="submit">导出当前范围</button><p class="zm-print-note">按当前地图范围与所开图层出图，含图例、比例尺、指北针、日期与数据状态。</p>';
      panel.elements.title.value = title || "";
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      L.DomEvent.on(toggle, "click", function (ev) {
        L.DomEvent.preventDefault(ev);
        panel.hidden = !panel.hidden;
      });
      panel.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var url = printUrl(map, adcode, {title: panel.elements.title.value, paper: panel.elements.paper.value, format: panel.elements.format.value});
        window.ZoningMap.lastPrintUrl = url;
        window.location.href = url;  // a download (Content-Disposition: attachment); the map stays
      });
      return div;
    };
    return ctl.addTo(map);
  }

  window.ZoningMap = {
    printControl: printControl,
    printUrl: printUrl,
    drawScreen: drawScreen,
    measureControl: measureControl,
    remoteLayer: remoteLayer,
    blankBase: blankBase,
    fitToScreen: fitToScreen,
    sitesLayer: sitesLayer,
    levelIcon: levelIcon,
    symbol: symbol,
    baseLayer: baseLayer,
    searchControl: searchControl,
    parseCoordinates: parseCoordinates,
    coordsControl: coordsControl,
    legendControl: legendControl,
    gk3: gk3,
    crsRules: rules,
    textNode: textNode,
    layers: registry
  };
})();
